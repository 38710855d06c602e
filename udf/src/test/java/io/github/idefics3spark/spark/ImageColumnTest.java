package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class ImageColumnTest {
  private static List<String> paths(Object value) {
    List<String> paths = new ArrayList<>();
    for (Row image : ImageColumn.images(value)) {
      paths.add(image == null ? null : image.getString(1));
    }
    return paths;
  }

  @Test
  void aStringThatIsAJsonArrayOfPathsIsThoseImages() {
    // what Spark makes of ["b.png", "c.png"] in a JSON Lines column that also holds "a.png"
    assertEquals(List.of("b.png", "c.png"), paths("[\"b.png\", \"c.png\"]"));
    assertEquals(List.of("a.png"), paths("a.png"));
    assertEquals(List.of(), paths("[]"));
  }

  @Test
  void aBracketedStringThatIsNoJsonArrayOfStringsStaysOnePath() {
    assertEquals(List.of("[draft] scan.png"), paths("[draft] scan.png"));
    assertEquals(List.of("[scan].png"), paths("[scan].png"));
    assertEquals(List.of("[1, 2]"), paths("[1, 2]"));
    assertEquals(List.of("[\"a.png\", ]"), paths("[\"a.png\", ]"));
  }
}
