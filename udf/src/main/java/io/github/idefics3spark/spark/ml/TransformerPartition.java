package io.github.idefics3spark.spark.ml;

import io.github.idefics3spark.spark.ImageColumn;
import io.github.idefics3spark.spark.InferenceSchema;
import io.github.idefics3spark.spark.InferenceSettings;
import io.github.idefics3spark.spark.PartitionInference;
import io.github.idefics3spark.spark.PromptTemplate;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The {@link Idefics3Transformer}'s partition function: the user's rows in, the same rows with the
 * answer, error and error kind added out, in input order.
 *
 * <p>Each row becomes a request of {@link PartitionInference}, which batches rows of similar prompt
 * length and answers them with the executor's shared model; the user's row rides along as a
 * pass-through column, and the results, which come back sorted by prompt length within a window,
 * are put back in input order (at most one window is held). A row whose image is null is answered
 * here with its error and never reaches the model.
 */
final class TransformerPartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private static final String ORDINAL = "input_ordinal";
  private static final String INPUT = "input_row";

  private final PartitionInference inference;
  private final PromptTemplate template;
  private final String task;
  private final int imageIndex;
  private final int questionIndex;
  private final int ordinalIndex;
  private final int inputIndex;
  private final int answerIndex;
  private final int errorIndex;
  private final int errorKindIndex;

  /**
   * @param input the schema of the user's rows
   * @param questionColumn the question column, or null when the template is the whole text
   */
  TransformerPartition(
      InferenceSettings settings,
      StructType input,
      String imageColumn,
      String questionColumn,
      PromptTemplate template,
      Broadcast<SerializableConfiguration> hadoop) {
    StructType requests =
        InferenceSchema.requests().add(ORDINAL, DataTypes.LongType, false).add(INPUT, input, false);
    StructType results = InferenceSchema.results(requests);
    this.inference = new PartitionInference(settings, requests, hadoop, null, null);
    this.template = template;
    this.task = questionColumn == null ? "caption" : "vqa";
    this.imageIndex = input.fieldIndex(imageColumn);
    this.questionIndex = questionColumn == null ? -1 : input.fieldIndex(questionColumn);
    this.ordinalIndex = results.fieldIndex(ORDINAL);
    this.inputIndex = results.fieldIndex(INPUT);
    this.answerIndex = results.fieldIndex(InferenceSchema.ANSWER);
    this.errorIndex = results.fieldIndex(InferenceSchema.ERROR);
    this.errorKindIndex = results.fieldIndex(InferenceSchema.ERROR_KIND);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    Map<Long, Row> finished = new HashMap<>();
    Iterator<Row> results = inference.call(new Requests(rows, finished));
    return new Iterator<>() {
      private long next;

      @Override
      public boolean hasNext() {
        while (!finished.containsKey(next) && results.hasNext()) {
          Row result = results.next();
          finished.put(
              result.getLong(ordinalIndex),
              output(
                  result.getStruct(inputIndex),
                  result.getString(answerIndex),
                  result.getString(errorIndex),
                  result.getString(errorKindIndex)));
        }
        return finished.containsKey(next);
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return finished.remove(next++);
      }
    };
  }

  /** The user's rows as requests; rows with a null image go straight to {@code finished}. */
  private final class Requests implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final Map<Long, Row> finished;
    private long ordinal;
    private Row pending;

    Requests(Iterator<Row> rows, Map<Long, Row> finished) {
      this.rows = rows;
      this.finished = finished;
    }

    @Override
    public boolean hasNext() {
      while (pending == null && rows.hasNext()) {
        Row row = rows.next();
        long order = ordinal++;
        List<Row> images = ImageColumn.images(row.get(imageIndex));
        if (images == null) {
          finished.put(
              order,
              output(
                  row,
                  null,
                  "the image is null; expected " + ImageColumn.EXPECTED,
                  InferenceSchema.UNREADABLE_IMAGE));
        } else {
          String question = questionIndex < 0 ? null : row.getString(questionIndex);
          pending =
              RowFactory.create(
                  Long.toString(order),
                  ImageColumn.asColumnValue(images),
                  template.apply(question),
                  null,
                  task,
                  order,
                  row);
        }
      }
      return pending != null;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row request = pending;
      pending = null;
      return request;
    }
  }

  private static Row output(Row input, String answer, String error, String errorKind) {
    Object[] values = new Object[input.size() + 3];
    for (int i = 0; i < input.size(); i++) {
      values[i] = input.get(i);
    }
    values[input.size()] = answer;
    values[input.size() + 1] = error;
    values[input.size() + 2] = errorKind;
    return RowFactory.create(values);
  }
}
