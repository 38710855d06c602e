package io.github.idefics3spark.python;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Pins PythonStr to what CPython 3.11 prints for the same calls. */
class PythonStrTest {

  @Test
  void whitespaceIsPythonsIsspace() {
    // [hex(c) for c in range(0x110000) if chr(c).isspace()]
    int[] spaces = {
      0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
      0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
      0x202f, 0x205f, 0x3000
    };
    int count = 0;
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      if (PythonStr.isSpace(cp)) {
        assertEquals(spaces[count], cp);
        count++;
      }
    }
    assertEquals(spaces.length, count);
    assertFalse(PythonStr.isSpace(0x200b)); // zero-width space is not whitespace in Python
    assertTrue(PythonStr.isSpace(0x85));
  }

  @Test
  void splitAndStripUseThatWhitespace() {
    // ' a\u00a0b\u2007c\x1cd\x85e\u200bf '.split()
    assertEquals(
        List.of("a", "b", "c", "d", "e\u200bf"),
        PythonStr.split(" a\u00a0b\u2007c\u001cd\u0085e\u200bf "));
    assertEquals("x", PythonStr.strip("\u00a0 x \u3000"));
    assertEquals(List.of(), PythonStr.split(" \t\n "));
    assertEquals(",.b,", PythonStr.strip(",.b,.", ".")); // ',.b,.'.strip('.')
  }

  @Test
  void caseMappingIsFullAndLengthsAreCodePoints() {
    assertEquals("STRASSE", PythonStr.upper("straße"));
    assertEquals(4, PythonStr.len(PythonStr.upper("ﬁle")));
    assertEquals(9, PythonStr.len(PythonStr.lower("İstanbul")));
    assertEquals("σας οδος", PythonStr.lower("ΣΑΣ ΟΔΟΣ")); // final sigma
    assertEquals(2, PythonStr.len(PythonStr.upper("ŉ")));
    assertEquals(3, PythonStr.len("a\uD83D\uDE00b"));
  }

  @Test
  void lastPieceIsWhatPythonSplitLeavesLast() {
    assertEquals("c", PythonStr.lastPieceAfter("a is b is c", "is "));
    assertEquals("a", PythonStr.lastPieceAfter("aaa", "aa")); // 'aaa'.split('aa')[-1]
    assertEquals("abc", PythonStr.lastPieceAfter("abc", "x"));
  }
}
