/** Checkpoint configs and weights read, and converted to the package TensorFlow loads. */
package io.github.idefics3spark.idefics3.checkpoint;
