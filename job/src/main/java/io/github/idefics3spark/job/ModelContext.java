package io.github.idefics3spark.job;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
import io.github.idefics3spark.idefics3.checkpoint.PreprocessorConfig;
import io.github.idefics3spark.idefics3.runtime.ModelSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The model's context seen from the driver, before any executor loads the model: its {@code
 * config.json} (a package's {@code assets/config.json}, or a checkpoint's own) read through
 * Hadoop's FileSystem, so that a {@code --max-new-tokens} that leaves no room for any prompt is
 * refused before the run instead of turning every row into a {@code PROMPT_TOO_LONG} error.
 */
final class ModelContext {
  private ModelContext() {}

  /**
   * Refuses {@code maxNewTokens} when it and the image tokens of a single frame do not fit the
   * model's context. Does nothing when the model's config cannot be seen from here (an {@code
   * --archives} name only executors see); executors then refuse each row that does not fit.
   *
   * @throws JobConfigException naming --max-new-tokens, the context and its file
   */
  static void checkMaxNewTokens(String model, int maxNewTokens, Configuration hadoop) {
    Found found = config(model, hadoop);
    if (found == null) {
      return;
    }
    Idefics3Config config = found.config();
    String where = found.where();
    int context = config.text().maxPositionEmbeddings();
    int imageTokens = config.imageSeqLen();
    if (maxNewTokens + imageTokens > context) {
      throw new JobConfigException(
          "setting max-new-tokens is "
              + maxNewTokens
              + " but the model's context is "
              + context
              + " tokens (text_config.max_position_embeddings in "
              + where
              + ") and one image frame alone takes "
              + imageTokens
              + " prompt tokens, so no row with an image could be answered: expected --max-new-tokens below "
              + (context - imageTokens)
              + ", less the question's tokens");
    }
  }

  /** A model's config.json, parsed, and where it was read. */
  private record Found(Idefics3Config config, String where, String folder) {}

  /**
   * The model's config.json (a package's assets/config.json or a checkpoint's), or null when it
   * cannot be seen or parsed from the driver.
   */
  private static Found config(String model, Configuration hadoop) {
    for (String folder : new String[] {"assets", ""}) {
      Path file =
          folder.isEmpty()
              ? new Path(new Path(model), "config.json")
              : new Path(new Path(model), folder + "/config.json");
      String json = read(file, hadoop);
      if (json != null) {
        try {
          return new Found(
              Idefics3Checkpoint.parseConfig(file.toString(), json), file.toString(), folder);
        } catch (CheckpointException e) {
          return null; // the executors' load reports what is wrong with it, with the checkpoint
        }
      }
    }
    return null;
  }

  /** A small file's text, or null when it is not there or cannot be read from the driver. */
  private static String read(Path file, Configuration hadoop) {
    try {
      FileSystem fs = file.getFileSystem(hadoop);
      if (!fs.isFile(file)) {
        return null;
      }
      try (InputStream in = fs.open(file)) {
        return new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
      }
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }

  /** Prompt tokens allowed for a page's text and each frame's markers, beside its image tokens. */
  static final int PAGE_TEXT_TOKENS = 64;

  /** Marker tokens around each frame's image tokens (fake_token_around_image, row/col, global). */
  static final int FRAME_MARKER_TOKENS = 4;

  /**
   * The document command's --max-new-tokens as run: the value given, or the default ({@link
   * DocumentSettings#MAX_NEW_TOKENS}) lowered, when the model's context cannot hold it beside the
   * largest page prompt, to what the context leaves; with a note saying so, else null.
   *
   * <p>The largest page prompt is reckoned from the model's files: with image splitting, a page is
   * cut into up to ceil(longest_edge / max_image_size)^2 tiles plus one global frame (one frame
   * without splitting), each of image_seq_len tokens and {@link #FRAME_MARKER_TOKENS} markers, plus
   * {@link #PAGE_TEXT_TOKENS} for the prompt text. A value given on the command line (or the
   * default when the model's files cannot be seen from the driver) is kept: rows whose prompt
   * leaves no room are PROMPT_TOO_LONG errors, and {@link #checkMaxNewTokens} refuses a value that
   * leaves no room for any.
   *
   * @param given whether --max-new-tokens was given (in a conf file or on the command line)
   */
  static Fitted fitDocumentMaxNewTokens(
      String model, ModelSettings settings, boolean given, Configuration hadoop) {
    int requested = settings.maxNewTokens();
    if (given) {
      return new Fitted(requested, null);
    }
    Found found = config(model, hadoop);
    if (found == null) {
      return new Fitted(requested, null);
    }
    Path preprocessorFile =
        found.folder().isEmpty()
            ? new Path(new Path(model), "preprocessor_config.json")
            : new Path(new Path(model), found.folder() + "/preprocessor_config.json");
    int frames = pageFrames(preprocessorFile, hadoop, settings);
    int pagePrompt =
        frames * (found.config().imageSeqLen() + FRAME_MARKER_TOKENS) + PAGE_TEXT_TOKENS;
    int context = found.config().text().maxPositionEmbeddings();
    if (requested + pagePrompt <= context) {
      return new Fitted(requested, null);
    }
    int lowered = Math.max(1, context - pagePrompt);
    return new Fitted(
        lowered,
        "--max-new-tokens lowered from the default "
            + requested
            + " to "
            + lowered
            + ": the model's context is "
            + context
            + " tokens (text_config.max_position_embeddings in "
            + found.where()
            + ") and a page prompt takes up to "
            + pagePrompt
            + " ("
            + frames
            + " frames of "
            + found.config().imageSeqLen()
            + " image tokens, markers and text); give --max-new-tokens to choose");
  }

  /** The --max-new-tokens to run with, and the note that says it was lowered (or null). */
  record Fitted(int maxNewTokens, String note) {}

  /**
   * The frames assumed for a page when the preprocessor's sizes cannot be read: SmolDocling's 4 by
   * 4 tiles (2048 / 512) and the global frame.
   */
  private static final int UNKNOWN_PAGE_FRAMES = 17;

  /** The most frames one page image gives (see {@link #fitDocumentMaxNewTokens}). */
  private static int pageFrames(
      Path preprocessorFile, Configuration hadoop, ModelSettings settings) {
    if (!settings.imageSplitting()) {
      return 1;
    }
    String json = read(preprocessorFile, hadoop);
    if (json == null) {
      return UNKNOWN_PAGE_FRAMES;
    }
    PreprocessorConfig preprocessor;
    try {
      preprocessor = Idefics3Checkpoint.parsePreprocessorConfig(preprocessorFile.toString(), json);
    } catch (CheckpointException e) {
      return UNKNOWN_PAGE_FRAMES; // the executors' load reports what is wrong with it
    }
    if (!preprocessor.doImageSplitting()) {
      return 1;
    }
    int longest = settings.longestEdge() > 0 ? settings.longestEdge() : preprocessor.longestEdge();
    int side = (longest + preprocessor.maxImageSize() - 1) / preprocessor.maxImageSize();
    return side * side + 1;
  }
}
