/**
 * Benchmark metrics that give the same numbers as each benchmark's official scorer: {@link
 * io.github.idefics3spark.eval.Anls} (DocVQA, InfographicVQA), {@link
 * io.github.idefics3spark.eval.TextVqaAccuracy} (TextVQA), {@link
 * io.github.idefics3spark.eval.VqaAccuracy} (VQA v2), {@link
 * io.github.idefics3spark.eval.MmmuResponseParser} and {@link
 * io.github.idefics3spark.eval.MmmuScore} (MMMU), {@link io.github.idefics3spark.eval.MmstarScore}
 * (MMStar), {@link io.github.idefics3spark.eval.MathVistaExtraction} and {@link
 * io.github.idefics3spark.eval.MathVistaScore} (MathVista).
 *
 * <p>{@link io.github.idefics3spark.eval.PythonLiteral} reads the Python list literals some
 * datasets store as text (MMMU's options). Each benchmark's prompt, and how its rows reach these
 * metrics, is in its class of {@code io.github.idefics3spark.job} ({@code Mmmu}, ...).
 *
 * <p>Each is a pure class (no Spark), documented with the official definition it reproduces and
 * tested on the official code's own outputs. The official scorers are Python programs; the
 * package-private {@code PythonStr} and {@code PythonFloat}, and {@link
 * io.github.idefics3spark.eval.PythonRandom}, reproduce the Python behaviour they depend on
 * (Unicode whitespace and case mapping, {@code float()}, {@code repr}, {@code round}, the seeded
 * Mersenne Twister).
 */
package io.github.idefics3spark.eval;
