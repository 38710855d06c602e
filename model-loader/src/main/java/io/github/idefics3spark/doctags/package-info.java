/**
 * DocTags (the markup SmolDocling and granite-docling generate) parsed into a small document model
 * and written as Markdown, HTML or JSON, following docling-core's {@code load_from_doctags} and
 * Markdown serializer. Entry point: {@link io.github.idefics3spark.doctags.DocTags}.
 */
package io.github.idefics3spark.doctags;
