package io.github.idefics3spark.eval;

/**
 * The Levenshtein (edit) distance between two strings counted over code points, with unit costs for
 * insertion, deletion and substitution: what the RRC ANLS script's {@code levenshtein_distance} and
 * the {@code Levenshtein.distance} that MathVista's scorer imports both compute on Python strings.
 */
public final class Levenshtein {

  private Levenshtein() {}

  /** The minimum number of single code point edits that turn a into b. */
  public static int distance(String a, String b) {
    int[] s = a.codePoints().toArray();
    int[] t = b.codePoints().toArray();
    if (s.length > t.length) {
      int[] swap = s;
      s = t;
      t = swap;
    }
    int[] previous = new int[s.length + 1];
    int[] current = new int[s.length + 1];
    for (int i = 0; i <= s.length; i++) {
      previous[i] = i;
    }
    for (int j = 0; j < t.length; j++) {
      current[0] = j + 1;
      for (int i = 0; i < s.length; i++) {
        current[i + 1] =
            s[i] == t[j]
                ? previous[i]
                : 1 + Math.min(previous[i], Math.min(previous[i + 1], current[i]));
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[s.length];
  }
}
