package io.github.idefics3spark.eval;

import java.util.List;

/**
 * Python's {@code random.Random} for the calls MMMU's official parser makes: {@code seed(int)},
 * {@code getrandbits(k)} and {@code choice(seq)}, bit for bit.
 *
 * <p>The generator is MT19937 (Matsumoto and Nishimura's reference code, which CPython's {@code
 * _randommodule.c} carries). {@code random.seed(n)} for an int n calls {@code init_by_array} with
 * the 32-bit words of |n|, least significant first ({@code [42]} for 42, {@code [0]} for 0). {@code
 * choice(seq)} is {@code seq[_randbelow(len(seq))]} and {@code _randbelow(n)} draws {@code
 * getrandbits(n.bit_length())} until the draw is below n (CPython 3.2 and later). Not thread-safe:
 * one instance per sequence of draws, used in the order the Python program used it.
 */
public final class PythonRandom {

  private static final int N = 624;
  private static final int M = 397;
  private static final int MATRIX_A = 0x9908b0df;
  private static final int UPPER_MASK = 0x80000000;
  private static final int LOWER_MASK = 0x7fffffff;

  private final int[] mt = new int[N];
  private int mti;

  /** A generator in the state Python's {@code random.seed(seed)} leaves. */
  public PythonRandom(long seed) {
    long n = Math.abs(seed);
    int[] key =
        (n >>> 32) == 0 ? new int[] {(int) n} : new int[] {(int) n, (int) (n >>> 32)}; // |seed|
    initByArray(key);
  }

  private void initGenrand(int s) {
    mt[0] = s;
    for (mti = 1; mti < N; mti++) {
      mt[mti] = 1812433253 * (mt[mti - 1] ^ (mt[mti - 1] >>> 30)) + mti;
    }
  }

  private void initByArray(int[] key) {
    initGenrand(19650218);
    int i = 1;
    int j = 0;
    for (int k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) {
        j = 0;
      }
    }
    for (int k = N - 1; k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000; // MSB is 1, assuring a non-zero initial array
  }

  /** The next 32 random bits, as an unsigned value (CPython's {@code genrand_uint32}). */
  long nextUint32() {
    if (mti >= N) {
      int kk;
      for (kk = 0; kk < N - M; kk++) {
        int y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ ((y & 1) == 0 ? 0 : MATRIX_A);
      }
      for (; kk < N - 1; kk++) {
        int y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ ((y & 1) == 0 ? 0 : MATRIX_A);
      }
      int y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ ((y & 1) == 0 ? 0 : MATRIX_A);
      mti = 0;
    }
    int y = mt[mti++];
    y ^= (y >>> 11);
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= (y >>> 18);
    return y & 0xffffffffL;
  }

  /** Python's {@code getrandbits(k)} for 1 &lt;= k &lt;= 32. */
  public long getrandbits(int k) {
    if (k < 1 || k > 32) {
      throw new IllegalArgumentException(
          "getrandbits takes 1 to 32 bits here, got " + k + " (only choice() needs it)");
    }
    return nextUint32() >>> (32 - k);
  }

  /** Python's {@code _randbelow(n)}: a uniform int in [0, n), by rejection of wider draws. */
  public int randbelow(int n) {
    if (n <= 0) {
      throw new IllegalArgumentException("randbelow needs n > 0, got " + n);
    }
    int k = 32 - Integer.numberOfLeadingZeros(n); // n.bit_length()
    long r = getrandbits(k);
    while (r >= n) {
      r = getrandbits(k);
    }
    return (int) r;
  }

  /** Python's {@code choice(seq)}. */
  public <T> T choice(List<T> seq) {
    if (seq.isEmpty()) {
      throw new IllegalArgumentException(
          "choice() from an empty sequence (Python raises IndexError here)");
    }
    return seq.get(randbelow(seq.size()));
  }
}
