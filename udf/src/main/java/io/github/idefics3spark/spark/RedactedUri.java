package io.github.idefics3spark.spark;

import java.util.regex.Pattern;

/**
 * Hides the user-info of URIs ({@code s3a://AKIA:secret@bucket/x} becomes {@code
 * s3a://***@bucket/x}) wherever an input, output or model URI goes into a message, a log line or an
 * error column: keys belong in the credential chain, never in a printed line.
 */
public final class RedactedUri {
  /** A scheme, "//", and the authority's user-info up to its "@" (RFC 3986: no "/", "?", "#"). */
  private static final Pattern USER_INFO =
      Pattern.compile("(\\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\\s]*@");

  private RedactedUri() {}

  /** Whether {@code text} holds a URI with user-info ({@code scheme://user:secret@host/...}). */
  public static boolean hasUserInfo(String text) {
    return text != null && USER_INFO.matcher(text).find();
  }

  /** {@code text} (a URI, or a message naming any number of them) with each user-info hidden. */
  public static String of(String text) {
    return text == null ? null : USER_INFO.matcher(text).replaceAll("$1***@");
  }
}
