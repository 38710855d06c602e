package io.github.idefics3spark.spark;

import java.io.StringWriter;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * The warnings logged while it is open, one {@code WARN message} line each: for the tests of what a
 * user is warned of.
 */
final class WarningCapture implements AutoCloseable {
  private final StringWriter lines = new StringWriter();
  private final LoggerContext logs = (LoggerContext) LogManager.getContext(false);
  private final LoggerConfig root = logs.getConfiguration().getRootLogger();
  private final Appender appender;

  /** Starts capturing; {@code name} names the appender, unique among the open captures. */
  WarningCapture(String name) {
    appender =
        WriterAppender.newBuilder()
            .setName(name)
            .setTarget(lines)
            .setLayout(PatternLayout.newBuilder().withPattern("%p %m%n").build())
            .build();
    appender.start();
    root.addAppender(appender, Level.WARN, null);
    logs.updateLoggers();
  }

  /** The warnings logged so far. */
  String text() {
    return lines.toString();
  }

  @Override
  public void close() {
    root.removeAppender(appender.getName());
    logs.updateLoggers();
    appender.stop();
  }
}
