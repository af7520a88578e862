package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Chooses the log format: human lines on a terminal, JSON lines under systemd or on request. */
public final class Logging {
  private Logging() {}

  /**
   * @param format {@code auto}, {@code human} or {@code json}; auto means JSON when systemd
   *     started the process ({@code INVOCATION_ID} or {@code JOURNAL_STREAM} is set)
   * @param verbose log at INFO in the human format too
   */
  public static void configure(String format, boolean verbose, Map<String, String> env) {
    boolean json = format.equals("json")
        || (format.equals("auto") && (env.containsKey("INVOCATION_ID") || env.containsKey("JOURNAL_STREAM")));
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    if (json) {
      LogConfigurator.apply(context, true);
    }
    if (verbose) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
    }
  }
}
