package io.github.idefics3spark.doctags;

/**
 * A box on a page in page pixels, origin at the top-left corner (docling-core's {@code
 * CoordOrigin.TOPLEFT}): {@code left <= right}, {@code top <= bottom}.
 *
 * @param left left edge
 * @param top top edge
 * @param right right edge
 * @param bottom bottom edge
 */
public record BoundingBox(double left, double top, double right, double bottom) {}
