package io.github.idefics3spark.job;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Hugging Face dataset Parquet layouts the job knows (see shared/spec/benchmarks.md), each
 * recognised by columns only it has, with its id, question and image columns. Options {@code
 * --id-column}, {@code --question-column} and {@code --image-columns} override any of them.
 */
public enum HfLayout {
  /** lmms-lab/DocVQA (DocVQA and InfographicVQA configs). */
  DOCVQA("DocVQA", "questionId", "question", List.of("image"), List.of("questionId", "docId")),
  /** lmms-lab/textvqa. */
  TEXTVQA(
      "TextVQA", "question_id", "question", List.of("image"), List.of("question_id", "image_id")),
  /** MMMU/MMMU: up to seven images, named in the question as {@code <image N>}. */
  MMMU(
      "MMMU",
      "id",
      "question",
      List.of("image_1", "image_2", "image_3", "image_4", "image_5", "image_6", "image_7"),
      List.of("id", "image_1", "options")),
  /** Lin-Chen/MMStar: the options are inline in the question. */
  MMSTAR("MMStar", "index", "question", List.of("image"), List.of("index", "l2_category")),
  /** AI4Math/MathVista: {@code query} is the full prompt with its hint; {@code image} is a path. */
  MATHVISTA("MathVista", "pid", "query", List.of("decoded_image"), List.of("pid", "decoded_image")),
  /** Any other Parquet: {@code id}, {@code question}, every struct&lt;bytes, path&gt; column. */
  GENERIC("Parquet", "id", "question", List.of(), List.of());

  private final String displayName;
  private final String idColumn;
  private final String questionColumn;
  private final List<String> imageColumns;
  private final List<String> markers;

  HfLayout(
      String displayName,
      String idColumn,
      String questionColumn,
      List<String> imageColumns,
      List<String> markers) {
    this.displayName = displayName;
    this.idColumn = idColumn;
    this.questionColumn = questionColumn;
    this.imageColumns = imageColumns;
    this.markers = markers;
  }

  public String displayName() {
    return displayName;
  }

  public String idColumn() {
    return idColumn;
  }

  public String questionColumn() {
    return questionColumn;
  }

  /** The image columns, of which those present are read; empty: every image struct column. */
  public List<String> imageColumns() {
    return imageColumns;
  }

  /**
   * Whether {@code type} is an HF {@code Image} value, struct&lt;bytes: binary, path: string&gt;.
   */
  static boolean isImageStruct(DataType type) {
    return type instanceof StructType struct
        && struct.fields().length == 2
        && Arrays.stream(struct.fieldNames()).sorted().toList().equals(List.of("bytes", "path"))
        && struct.apply("bytes").dataType().equals(DataTypes.BinaryType)
        && struct.apply("path").dataType().equals(DataTypes.StringType);
  }

  /** The layout whose marker columns {@code columns} all has; {@link #GENERIC} when none. */
  public static HfLayout detect(String[] columns) {
    Set<String> present = Set.copyOf(Arrays.asList(columns));
    for (HfLayout layout : values()) {
      if (layout != GENERIC && present.containsAll(layout.markers)) {
        return layout;
      }
    }
    return GENERIC;
  }
}
