package io.github.idefics3spark.job;

import io.github.idefics3spark.idefics3.checkpoint.CheckpointException;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Checkpoint;
import io.github.idefics3spark.idefics3.checkpoint.Idefics3Config;
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
    String where = null;
    String json = null;
    for (String name : new String[] {"assets/config.json", "config.json"}) {
      try {
        Path file = new Path(new Path(model), name);
        FileSystem fs = file.getFileSystem(hadoop);
        if (fs.isFile(file)) {
          try (InputStream in = fs.open(file)) {
            json = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
          }
          where = file.toString();
          break;
        }
      } catch (IOException | IllegalArgumentException e) {
        return; // not reachable from the driver: the executors check each row
      }
    }
    if (json == null) {
      return;
    }
    Idefics3Config config;
    try {
      config = Idefics3Checkpoint.parseConfig(where, json);
    } catch (CheckpointException e) {
      return; // the executors' load reports what is wrong with it, with the whole checkpoint
    }
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
}
