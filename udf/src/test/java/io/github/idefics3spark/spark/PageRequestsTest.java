package io.github.idefics3spark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PageRequestsTest {
  private static List<String> ranges(String text) {
    List<String> out = new ArrayList<>();
    for (int[] range : PageRequests.parsePages(text)) {
      out.add(range[0] + "-" + range[1]);
    }
    return out;
  }

  private static String refusal(String text) {
    return assertThrows(IllegalArgumentException.class, () -> PageRequests.parsePages(text))
        .getMessage();
  }

  @Test
  void pagesAndRangesAreReadInOrderOfTheirStart() {
    assertEquals(List.of("1-3", "7-7"), ranges("1-3,7"));
    assertEquals(List.of("2-4", "9-9"), ranges(" 9 , 2 - 4 "));
    assertEquals(List.of("5-5"), ranges("5"));
    assertEquals(List.of("1-2", "1-1"), ranges("1-2,1")); // a stable sort: ties keep their order
  }

  @Test
  void aValueThatIsNoPageRangeSaysWhatIsWrong() {
    assertEquals("the range '3-1' runs backwards; write it as 1-3", refusal("3-1"));
    assertEquals("'0': pages are numbered from 1", refusal("0"));
    assertEquals(
        "an empty item; expected pages and ranges separated by commas, such as 1-3,7",
        refusal("1,,2"));
    assertEquals(
        "'a-b' is not a page or a range such as 1-3 (pages are whole numbers from 1)",
        refusal("a-b"));
    assertEquals("'1-2-3' is not a page or a range such as 1-3", refusal("1-2-3"));
    assertEquals(
        "'-2' is not a page or a range such as 1-3 (pages are whole numbers from 1)",
        refusal("-2"));
    assertEquals(
        "'9999999999' is not a page or a range such as 1-3 (pages are whole numbers from 1)",
        refusal("9999999999"));
  }
}
