package io.github.idefics3spark.idefics3.runtime;

import io.github.idefics3spark.idefics3.checkpoint.Idefics3Package;
import io.github.idefics3spark.idefics3.processor.EncodedPrompt;
import io.github.idefics3spark.idefics3.processor.Idefics3Processor;
import io.github.idefics3spark.idefics3.processor.PromptBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;

/**
 * Continuous batching over a package's {@code prefill_slots} and {@code decode_slots}: a batch of
 * {@code size} slots, each a row of the KV caches. A queued request takes a slot as soon as one is
 * free: it is prefilled (with the others taking slots at the same time, left-padded together), its
 * cache put into the slot, and it decodes beside the rows already there until its stop token or its
 * own max_new_tokens; then its tokens go to the caller at once and the slot takes the next request.
 * A static batch instead runs every row until its longest one ends.
 *
 * <p>Each row attends to its own cache row only and keeps its own positions, so its greedy tokens
 * are those it gets alone. The cache capacity (slots per row) is, at each call, what the rows in
 * the slots need: the longest padded prompt plus max_new_tokens among them, less what they have
 * used.
 *
 * <p>On a GPU the caches go back to the host between calls (TensorFlow Java hands a call's outputs
 * to Java); a call decodes until one more row finishes, so that copy is paid once per finished row,
 * not per token.
 *
 * @param <K> what the caller knows a request by
 */
final class ContinuousBatch<K> implements AutoCloseable {

  /** A request ready to decode: its prompt, its image features in image-token order, its limit. */
  record Entry<K>(K key, EncodedPrompt prompt, float[] features, int maxNewTokens) {}

  /** Receives each request's tokens (its stop token included) and its wall time in the slots. */
  interface Done<K> {
    void accept(K key, int[] tokens, long nanos);
  }

  private final Idefics3Package pkg;
  private final Idefics3Processor processor;
  private final GenerationSettings settings;
  private final int size;
  private final Deque<Entry<K>> queue = new ArrayDeque<>();
  private final List<Entry<K>> rows; // by slot; null when free
  private final List<int[]> generated; // by slot: its tokens so far
  private final long[] admitted; // by slot: System.nanoTime() at its prefill
  private final Idefics3Package.SlotState state;
  private Idefics3Package.SlotCaches caches; // null before the first decode
  private int capacity;
  private long draws; // the sampling seed's draws used so far
  private long prefillCalls;

  ContinuousBatch(
      Idefics3Package pkg, Idefics3Processor processor, GenerationSettings settings, int size) {
    this.pkg = pkg;
    this.processor = processor;
    this.settings = settings;
    this.size = size;
    this.rows = new ArrayList<>(Collections.nCopies(size, null));
    this.generated = new ArrayList<>(Collections.nCopies(size, null));
    this.admitted = new long[size];
    this.capacity = 1;
    int[][] slotMask = new int[size][capacity];
    for (int[] row : slotMask) {
      row[0] = 1; // an empty row attends to one zero slot, never to none
    }
    this.state =
        new Idefics3Package.SlotState(
            filled(size, settings.padTokenId()),
            filledTrue(size),
            new int[size],
            slotMask,
            new int[size],
            new int[size],
            filled(size, 1));
  }

  /** Queues a request; it takes a slot at a later {@link #step}. */
  void add(Entry<K> entry) {
    queue.add(entry);
  }

  /** Requests queued, not yet in a slot. */
  int queued() {
    return queue.size();
  }

  /** Slots that hold no request. */
  int free() {
    int free = 0;
    for (Entry<K> row : rows) {
      free += row == null ? 1 : 0;
    }
    return free;
  }

  /** Whether no request is queued or in a slot. */
  boolean idle() {
    return queue.isEmpty() && free() == size;
  }

  /**
   * Every request queued or in a slot, taken out (the slots empty, the caches freed): after a call
   * failed, for the caller to answer them another way.
   */
  List<Entry<K>> drain() {
    List<Entry<K>> all = new ArrayList<>();
    for (int b = 0; b < size; b++) {
      if (rows.get(b) != null) {
        all.add(rows.get(b));
        free(b);
      }
    }
    all.addAll(queue);
    queue.clear();
    close();
    return all;
  }

  long prefillCalls() {
    return prefillCalls;
  }

  /**
   * Puts queued requests into the free slots, then decodes until one more row finishes ({@code
   * moreComing}, or requests still queued: its slot is wanted) or every row has ({@code done}
   * receives each finished request).
   */
  void step(boolean moreComing, Done<K> done) {
    // 1. admit: the queue's first requests into the free slots, prefilled together
    List<Integer> slots = new ArrayList<>();
    List<Entry<K>> entries = new ArrayList<>();
    for (int b = 0; b < size && !queue.isEmpty(); b++) {
      if (rows.get(b) == null) {
        slots.add(b);
        entries.add(queue.poll());
      }
    }
    List<EncodedPrompt> prompts = new ArrayList<>(entries.size());
    for (Entry<K> entry : entries) {
      prompts.add(entry.prompt());
    }
    PromptBatch padded = entries.isEmpty() ? null : processor.pad(prompts);
    resize(padded, entries);
    Idefics3Package.SlotPrefill prefill =
        entries.isEmpty() ? null : prefill(slots, entries, padded, done);
    try {
      // 2. decode every row in a slot until enough have finished
      int active = 0;
      int steps = 0;
      for (int b = 0; b < size; b++) {
        if (rows.get(b) != null) {
          active++;
          steps = Math.max(steps, state.maxNewTokens()[b] - state.lengths()[b]);
        }
      }
      if (active == 0) {
        return; // nothing admitted goes on past its first token
      }
      if (caches == null) {
        caches = prefill.caches().emptyLike(size);
      }
      // the rows not decoding count as finished: return once one more is, if its slot is wanted
      int finishedLimit = moreComing || !queue.isEmpty() ? size - active + 1 : size;
      int[] before = state.lengths().clone();
      Idefics3Package.SlotDecode decoded =
          pkg.decodeSlots(
              caches,
              prefill,
              slots.stream().mapToInt(Integer::intValue).toArray(),
              state,
              capacity,
              steps,
              finishedLimit,
              settings,
              draws);
      draws += steps;
      caches.close();
      caches = decoded.caches();
      // 3. collect: each row's new tokens; a finished row is answered and its slot freed
      long now = System.nanoTime();
      for (int b = 0; b < size; b++) {
        Entry<K> entry = rows.get(b);
        if (entry == null) {
          continue;
        }
        int added = state.lengths()[b] - before[b];
        int[] own = generated.get(b);
        int[] grown = Arrays.copyOf(own, own.length + added);
        System.arraycopy(decoded.tokens()[b], 0, grown, own.length, added);
        generated.set(b, grown);
        if (state.finished()[b]) {
          free(b);
          done.accept(entry.key(), grown, now - admitted[b]);
        }
      }
    } finally {
      if (prefill != null) {
        prefill.close();
      }
    }
  }

  /**
   * Sets the capacity to what the rows decoding and those being admitted need: each row's slots up
   * to that of the last token it may feed ({@code max_new_tokens - 1} after its prompt). The next
   * call grows or cuts the caches to it, which costs nothing more than the copy every call makes,
   * so a long row that finished leaves no long caches behind.
   */
  private void resize(PromptBatch padded, List<Entry<K>> entries) {
    int needed = 1;
    for (int b = 0; b < size; b++) {
      if (rows.get(b) != null) {
        needed = Math.max(needed, state.slot()[b] + state.maxNewTokens()[b] - state.lengths()[b]);
      }
    }
    if (padded != null) {
      int promptLength = padded.attentionMask()[0].length;
      for (Entry<K> entry : entries) {
        needed = Math.max(needed, promptLength + entry.maxNewTokens() - 1);
      }
    }
    if (needed != capacity) {
      capacity = needed;
      for (int b = 0; b < size; b++) {
        state.slotMask()[b] = Arrays.copyOf(state.slotMask()[b], capacity);
      }
    }
  }

  /** Frees slot b: no request, finished, and writing (nothing anyone reads) at slot 0. */
  private void free(int b) {
    rows.set(b, null);
    generated.set(b, null);
    state.finished()[b] = true;
    state.slot()[b] = 0;
    int[] slotMask = new int[capacity];
    slotMask[0] = 1; // an empty row attends to one zero slot, never to none
    state.slotMask()[b] = slotMask;
  }

  /**
   * Prefills {@code entries} for {@code slots} and sets the slots' state; a request whose first
   * token already ends it is answered at once and its slot stays free.
   */
  private Idefics3Package.SlotPrefill prefill(
      List<Integer> slots, List<Entry<K>> entries, PromptBatch padded, Done<K> done) {
    long start = System.nanoTime();
    int features = 0;
    for (Entry<K> entry : entries) {
      features += entry.features().length;
    }
    float[] joined = new float[features];
    int at = 0;
    for (Entry<K> entry : entries) {
      System.arraycopy(entry.features(), 0, joined, at, entry.features().length);
      at += entry.features().length;
    }
    int promptLength = padded.attentionMask()[0].length;
    Idefics3Package.SlotPrefill prefill =
        pkg.prefillSlots(
            padded.inputIds(), padded.attentionMask(), joined, capacity, settings, draws++);
    prefillCalls++;
    for (int j = 0; j < entries.size(); j++) {
      int b = slots.get(j);
      Entry<K> entry = entries.get(j);
      int first = prefill.firstTokens()[j];
      if (entry.maxNewTokens() <= 1 || isStop(first)) {
        free(b); // its cache goes into the slot all the same, unread
        done.accept(entry.key(), new int[] {first}, System.nanoTime() - start);
        continue;
      }
      int[] mask = padded.attentionMask()[j];
      int[] slotMask = new int[capacity];
      System.arraycopy(mask, 0, slotMask, 0, mask.length);
      state.slotMask()[b] = slotMask;
      state.token()[b] = first;
      state.finished()[b] = false;
      state.lengths()[b] = 1;
      state.position()[b] = Arrays.stream(mask).sum();
      state.slot()[b] = promptLength;
      state.maxNewTokens()[b] = entry.maxNewTokens();
      rows.set(b, entry);
      generated.set(b, new int[] {first});
      admitted[b] = start;
    }
    return prefill;
  }

  private boolean isStop(int token) {
    for (int id : settings.eosTokenIds()) {
      if (id == token) {
        return true;
      }
    }
    return false;
  }

  private static int[] filled(int length, int value) {
    int[] array = new int[length];
    Arrays.fill(array, value);
    return array;
  }

  private static boolean[] filledTrue(int length) {
    boolean[] array = new boolean[length];
    Arrays.fill(array, true);
    return array;
  }

  @Override
  public void close() {
    if (caches != null) {
      caches.close();
      caches = null;
    }
  }
}
