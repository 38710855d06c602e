package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RedactedUriTest {
  @Test
  void userInfoIsHiddenInAUriAndInAMessageNamingSeveral() {
    assertEquals("s3a://***@bucket/x", RedactedUri.of("s3a://AKIA:secret@bucket/x"));
    assertEquals(
        "cannot copy s3a://***@b/m to hdfs://***@nn:8020/c",
        RedactedUri.of("cannot copy s3a://AKIA:secret@b/m to hdfs://alice@nn:8020/c"));
  }

  @Test
  void urisWithoutUserInfoAndAtSignsInPathsAreLeftAsTheyAre() {
    for (String text :
        new String[] {"s3a://bucket/x", "/data/a@2x.png", "s3a://bucket/a@2x.png", "file:/x"}) {
      assertEquals(text, RedactedUri.of(text));
    }
  }
}
