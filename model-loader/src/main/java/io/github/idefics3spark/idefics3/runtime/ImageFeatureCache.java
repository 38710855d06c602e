package io.github.idefics3spark.idefics3.runtime;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * The vision features of images already encoded, so that requests sharing an image (DocVQA's
 * several questions a page, a manifest naming one path twice) run the vision encoder once: least
 * recently used first out, bounded by the bytes of the features it holds ({@link
 * ModelSettings#imageCacheMb()}).
 *
 * <p>An image is keyed by the SHA-256 of its encoded bytes and the image processor's settings that
 * change its pixels (longest edge, splitting; the rest are the checkpoint's, one per package): two
 * paths with the same bytes are one image, one file read at two resolutions is two. The value is
 * the {@code encode_images} output of all its frames, as the session returned it, and its tile
 * grid, so a hit needs neither the decoder nor the vision encoder.
 *
 * <p>Scoped to one partition (a Spark task) or one {@link Idefics3Runtime#answer} call: a task's
 * bound is its own, nothing is shared with concurrent tasks, and a retried task sees the same hits.
 * It also holds the decodes in flight for images not yet encoded, so that a batch prepared while
 * the previous one runs shares their decode. Its methods are synchronized, so a cache handed to
 * several threads stays consistent, though one per task is the intended use.
 */
public final class ImageFeatureCache {
  /** One encoded image: its tile grid and its features, (frames, image_seq_len, hidden). */
  public record Entry(int rows, int cols, int frames, float[] features) {
    long bytes() {
      return (long) features.length * Float.BYTES;
    }
  }

  private final long capacityBytes;
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, Future<?>> decoding = new HashMap<>();
  private long bytes;
  private long hits;
  private long misses;
  private long evictions;

  /** A cache of at most {@code capacityBytes} bytes of features; 0 holds nothing. */
  public ImageFeatureCache(long capacityBytes) {
    if (capacityBytes < 0) {
      throw new IllegalArgumentException(
          "image feature cache of " + capacityBytes + " bytes, expected >= 0");
    }
    this.capacityBytes = capacityBytes;
  }

  /** A cache of {@code megabytes} MiB (the {@code image_cache_mb} setting); 0 disables reuse. */
  public static ImageFeatureCache ofMegabytes(int megabytes) {
    return new ImageFeatureCache((long) megabytes << 20);
  }

  /** Whether images are reused at all: false for a cache of 0 bytes. */
  public boolean enabled() {
    return capacityBytes > 0;
  }

  /** The key of an encoded image under the image processor settings {@code processor}. */
  static String key(byte[] encoded, String processor) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha256.digest(encoded)) + " " + processor;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256, which every Java 17 has", e);
    }
  }

  /** The entry of {@code key}, now the most recently used, or null (counted as a miss). */
  synchronized Entry get(String key) {
    Entry entry = entries.get(key);
    if (entry == null) {
      misses++;
    } else {
      hits++;
    }
    return entry;
  }

  /** Whether {@code key} is held, without counting or reordering. */
  synchronized boolean contains(String key) {
    return entries.containsKey(key);
  }

  /**
   * Keeps {@code entry} under {@code key}, evicting the least recently used entries until the bound
   * holds; an entry larger than the whole bound is not kept. Ends the key's decode in flight.
   */
  synchronized void put(String key, Entry entry) {
    decoding.remove(key);
    if (entry.bytes() > capacityBytes) {
      return;
    }
    Entry old = entries.put(key, entry);
    bytes += entry.bytes() - (old == null ? 0 : old.bytes());
    Iterator<Entry> eldest = entries.values().iterator();
    while (bytes > capacityBytes) {
      bytes -= eldest.next().bytes();
      eldest.remove();
      evictions++;
    }
  }

  /** The decode in flight for {@code key}, or null. */
  synchronized Future<?> decoding(String key) {
    return decoding.get(key);
  }

  /** Records {@code decode} as the decode in flight for {@code key}. */
  synchronized void decoding(String key, Future<?> decode) {
    decoding.put(key, decode);
  }

  /**
   * Forgets {@code decode} as the decode in flight for {@code key}: its batch is done with it (a
   * batch prepared since keeps its own reference).
   */
  synchronized void decoded(String key, Future<?> decode) {
    decoding.remove(key, decode);
  }

  /** The bound, in bytes of features. */
  public long capacityBytes() {
    return capacityBytes;
  }

  /** Bytes of features held now, at most {@link #capacityBytes}. */
  public synchronized long bytes() {
    return bytes;
  }

  /** Images held now. */
  public synchronized int size() {
    return entries.size();
  }

  /** Lookups that found the image's features. */
  public synchronized long hits() {
    return hits;
  }

  /** Lookups that did not: each such image was encoded once for its batch. */
  public synchronized long misses() {
    return misses;
  }

  /** Entries dropped to keep the bound. */
  public synchronized long evictions() {
    return evictions;
  }
}
