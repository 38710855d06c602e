/** Images and chat messages to model inputs: image processor, chat template, tokenizer. */
package io.github.idefics3spark.idefics3.processor;
