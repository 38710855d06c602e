/** The Idefics3 TensorFlow graph: the modules of modeling_idefics3.py, and generation. */
package io.github.idefics3spark.idefics3.graph;
