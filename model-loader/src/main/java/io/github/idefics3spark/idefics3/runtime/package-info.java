/** The batch runtime: a loaded package answering requests with its settings. */
package io.github.idefics3spark.idefics3.runtime;
