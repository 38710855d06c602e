package io.github.idefics3spark.idefics3.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The image feature cache: keys by content and processor settings, LRU bounded by bytes. */
class ImageFeatureCacheTest {
  /** An entry of {@code floats} feature values (4 bytes each). */
  private static ImageFeatureCache.Entry entry(int floats) {
    return new ImageFeatureCache.Entry(0, 0, 1, new float[floats]);
  }

  @Test
  void theKeyIsTheContentHashAndTheProcessorSettings() {
    byte[] a = "image a".getBytes(StandardCharsets.UTF_8);
    String key = ImageFeatureCache.key(a, "longest_edge=512");
    assertEquals(key, ImageFeatureCache.key(a.clone(), "longest_edge=512"));
    assertNotEquals(key, ImageFeatureCache.key(a, "longest_edge=364"));
    assertNotEquals(
        key, ImageFeatureCache.key("image b".getBytes(StandardCharsets.UTF_8), "longest_edge=512"));
    assertTrue(key.startsWith("a854f481d4cb2479ff869f3a33763e4c"), key); // sha256sum of "image a"
  }

  @Test
  void theLeastRecentlyUsedEntriesGoFirstAndTheBytesStayWithinTheBound() {
    ImageFeatureCache cache = new ImageFeatureCache(100); // 25 floats
    cache.put("a", entry(10));
    cache.put("b", entry(10));
    assertEquals(80, cache.bytes());
    assertNotNull(cache.get("a")); // a is now the most recent
    cache.put("c", entry(5)); // 100 bytes: fits exactly
    assertEquals(100, cache.bytes());
    cache.put("d", entry(1)); // b, the least recently used, goes
    assertNull(cache.get("b"));
    assertNotNull(cache.get("a"));
    assertNotNull(cache.get("c"));
    assertNotNull(cache.get("d"));
    assertEquals(64, cache.bytes());
    assertEquals(1, cache.evictions());
    assertEquals(4, cache.hits());
    assertEquals(1, cache.misses());
  }

  @Test
  void anEntryLargerThanTheBoundIsNotKeptAndDisplacesNothing() {
    ImageFeatureCache cache = new ImageFeatureCache(100);
    cache.put("a", entry(10));
    cache.put("huge", entry(26));
    assertFalse(cache.contains("huge"));
    assertTrue(cache.contains("a"));
    assertEquals(40, cache.bytes());
  }

  @Test
  void aZeroCacheIsDisabledAndANegativeOneRefused() {
    assertFalse(ImageFeatureCache.ofMegabytes(0).enabled());
    assertTrue(ImageFeatureCache.ofMegabytes(1).enabled());
    assertEquals(1L << 20, ImageFeatureCache.ofMegabytes(1).capacityBytes());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new ImageFeatureCache(-1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }

  @Test
  void aDecodeInFlightIsSharedUntilItsBatchIsDoneOrItsFeaturesAreKept() {
    ImageFeatureCache cache = new ImageFeatureCache(100);
    CompletableFuture<String> decode = new CompletableFuture<>();
    cache.decoding("a", decode);
    assertSame(decode, cache.decoding("a"));
    cache.decoded("a", new CompletableFuture<String>()); // another batch's: not this one
    assertSame(decode, cache.decoding("a"));
    cache.decoded("a", decode);
    assertNull(cache.decoding("a"));
    cache.decoding("b", decode);
    cache.put("b", entry(1));
    assertNull(cache.decoding("b"));
  }
}
