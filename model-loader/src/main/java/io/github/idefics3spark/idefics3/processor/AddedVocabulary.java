package io.github.idefics3spark.idefics3.processor;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The added tokens of a tokenizer.json and how a string is split at them, as Hugging Face
 * tokenizers' {@code AddedVocabulary::extract_and_normalize} splits it (added_vocabulary.rs), with
 * one difference: a token is only ever found inside text the caller marks as its own (the chat
 * template's and the image expansion's), never inside user text.
 *
 * <p>Matching is leftmost-longest over the tokens with {@code normalized: false} on the raw string
 * first, then over the tokens with {@code normalized: true} on each piece left between them. The
 * flags behave as in tokenizers: {@code single_word} drops a match touching a word character
 * ({@code \w}) on either side; {@code lstrip} and {@code rstrip} take the white space ({@code \s})
 * before or after the token into it (user text's white space included, as the reference would).
 * Tokens with {@code normalized: true} are only supported when the tokenizer has no normalizer
 * (they then match the raw text); with one, construction fails.
 */
final class AddedVocabulary {
  private static final Pattern WORD = Pattern.compile("\\w", Pattern.UNICODE_CHARACTER_CLASS);
  private static final Pattern SPACE = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);

  /**
   * One entry of tokenizer.json's "added_tokens".
   *
   * @param id its id
   * @param content its text
   * @param singleWord "single_word"
   * @param lstrip "lstrip"
   * @param rstrip "rstrip"
   * @param normalized "normalized"
   * @param special "special": skipped when decoding with skip_special_tokens
   */
  record AddedToken(
      int id,
      String content,
      boolean singleWord,
      boolean lstrip,
      boolean rstrip,
      boolean normalized,
      boolean special) {}

  /**
   * A piece of the split string, {@code [start, end)}: an added token ({@code token != null}) or
   * text for the model.
   */
  record Split(int start, int end, AddedToken token) {}

  private final Map<String, AddedToken> byContent = new HashMap<>();
  private final Trie raw = new Trie();
  private final Trie normalizedTrie = new Trie();

  /**
   * @param tokens tokenizer.json's "added_tokens"
   * @param normalizer the "normalizer" type, or null when the tokenizer has none
   */
  AddedVocabulary(List<AddedToken> tokens, String normalizer) {
    for (AddedToken token : tokens) {
      if (token.content().isEmpty()) {
        continue;
      }
      if (token.normalized() && normalizer != null) {
        throw new CheckpointException(
            "tokenizer.json: added token \""
                + token.content()
                + "\" has \"normalized\": true and the tokenizer has a "
                + normalizer
                + " normalizer; this project matches added tokens on the raw text only. Set"
                + " \"normalized\" to false for it if the normalizer leaves it unchanged");
      }
      byContent.put(token.content(), token);
      (token.normalized() ? normalizedTrie : raw).add(token);
    }
  }

  /** The added token whose text is exactly {@code content}, or null. */
  AddedToken get(String content) {
    return byContent.get(content);
  }

  /** Whether {@code text} contains the text of any added token. */
  boolean occursIn(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (raw.longestAt(text, i, text.length()) != null
          || normalizedTrie.longestAt(text, i, text.length()) != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * Splits {@code sentence} at the added tokens found outside {@code userText}.
   *
   * @param userText the char positions of user text: no token is matched where it overlaps
   * @return pieces covering the sentence in order; text pieces may be empty only when the sentence
   *     is
   */
  List<Split> split(String sentence, BitSet userText) {
    List<Split> first = findMatches(sentence, 0, sentence.length(), userText, raw);
    if (normalizedTrie.isEmpty()) {
      return first;
    }
    List<Split> out = new ArrayList<>();
    for (Split split : first) {
      if (split.token() != null) {
        out.add(split);
      } else {
        out.addAll(findMatches(sentence, split.start(), split.end(), userText, normalizedTrie));
      }
    }
    return out;
  }

  /**
   * tokenizers' {@code find_matches} on {@code sentence[from, to)}, matching only template text.
   */
  private static List<Split> findMatches(
      String sentence, int from, int to, BitSet userText, Trie trie) {
    List<Split> splits = new ArrayList<>();
    int startOffset = from;
    for (Split match : leftmostLongest(sentence, from, to, userText, trie)) {
      int start = match.start();
      int stop = match.end();
      AddedToken token = match.token();
      if (token.singleWord()) {
        boolean startSpace = start == from || !isWord(sentence.codePointBefore(start));
        boolean stopSpace = stop == to || !isWord(sentence.codePointAt(stop));
        if (!startSpace || !stopSpace) {
          continue;
        }
      }
      if (token.lstrip()) {
        int newStart = start;
        while (newStart > from && isSpace(sentence.codePointBefore(newStart))) {
          newStart -= Character.charCount(sentence.codePointBefore(newStart));
        }
        start = Math.max(newStart, startOffset);
      }
      if (token.rstrip()) {
        while (stop < to && isSpace(sentence.codePointAt(stop))) {
          stop += Character.charCount(sentence.codePointAt(stop));
        }
      }
      if (startOffset < start) {
        splits.add(new Split(startOffset, start, null));
      }
      splits.add(new Split(start, stop, token));
      startOffset = stop;
    }
    if (startOffset != to || splits.isEmpty()) {
      splits.add(new Split(startOffset, to, null));
    }
    return splits;
  }

  /** Non-overlapping leftmost-longest matches inside each run of template text of [from, to). */
  private static List<Split> leftmostLongest(
      String sentence, int from, int to, BitSet userText, Trie trie) {
    List<Split> matches = new ArrayList<>();
    int runStart = from;
    while (runStart < to) {
      runStart = Math.max(runStart, userText.nextClearBit(runStart));
      if (runStart >= to) {
        break;
      }
      int runEnd =
          Math.min(to, userText.nextSetBit(runStart) < 0 ? to : userText.nextSetBit(runStart));
      int i = runStart;
      while (i < runEnd) {
        AddedToken token = trie.longestAt(sentence, i, runEnd);
        if (token == null) {
          i++;
        } else {
          matches.add(new Split(i, i + token.content().length(), token));
          i += token.content().length();
        }
      }
      runStart = runEnd;
    }
    return matches;
  }

  private static boolean isWord(int cp) {
    return WORD.matcher(Character.toString(cp)).matches();
  }

  private static boolean isSpace(int cp) {
    return SPACE.matcher(Character.toString(cp)).matches();
  }

  /** A character trie of token texts. */
  private static final class Trie {
    private final Map<Character, Trie> next = new HashMap<>();
    private AddedToken token;

    void add(AddedToken added) {
      Trie node = this;
      for (int i = 0; i < added.content().length(); i++) {
        node = node.next.computeIfAbsent(added.content().charAt(i), c -> new Trie());
      }
      node.token = added;
    }

    boolean isEmpty() {
      return next.isEmpty();
    }

    /** The longest token that starts at {@code at} and ends by {@code end}, or null. */
    AddedToken longestAt(String s, int at, int end) {
      Trie node = this;
      AddedToken longest = null;
      for (int i = at; i < end; i++) {
        node = node.next.get(s.charAt(i));
        if (node == null) {
          break;
        }
        if (node.token != null) {
          longest = node.token;
        }
      }
      return longest;
    }
  }
}
