package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * The log set-up, in code rather than logback XML: reading XML at start loaded some 400 classes
 * (Joran and the JDK's XML parser) that the daemon needs for nothing else. Human lines on
 * stderr by default (stdout is for command output); {@link Logging} switches to JSON lines. The
 * root level is {@code QMP_SIDECAR_LOG_LEVEL} (a system property or the environment), WARN for
 * human lines and INFO for JSON when unset; Netty and Vert.x log at WARN. A logback file named by
 * {@code -Dlogback.configurationFile} still wins: logback then reads it as usual.
 */
public final class LogConfigurator extends ContextAwareBase implements Configurator {
  static final String LEVEL_VARIABLE = "QMP_SIDECAR_LOG_LEVEL";
  private static final String HUMAN_PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} "
      + "%replace(vm=%X{vm} op=%X{op} caller=%X{caller} qmp=%X{qmp} ){\"(\\w+)= \", \"\"}- %msg%n";

  /** Called by logback (a service in META-INF/services) when the first logger is asked for. */
  public LogConfigurator() {}

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(context, false);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Replaces the context's set-up with human lines or JSON lines on stderr. */
  static void apply(LoggerContext context, boolean json) {
    context.reset();
    Encoder<ILoggingEvent> encoder;
    if (json) {
      // One JSON object per line with the MDC (operation id, caller, QMP id).
      JsonEncoder jsonEncoder = new JsonEncoder();
      jsonEncoder.setWithArguments(false);
      encoder = jsonEncoder;
    } else {
      PatternLayoutEncoder pattern = new PatternLayoutEncoder();
      pattern.setPattern(HUMAN_PATTERN);
      encoder = pattern;
    }
    encoder.setContext(context);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    context.getLogger("io.netty").setLevel(Level.WARN);
    context.getLogger("io.vertx").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(rootLevel(json ? Level.INFO : Level.WARN));
    root.addAppender(stderr);
  }

  /** As logback's {@code ${QMP_SIDECAR_LOG_LEVEL:-default}} was: a name it does not know is DEBUG. */
  private static Level rootLevel(Level unset) {
    String value = System.getProperty(LEVEL_VARIABLE, System.getenv(LEVEL_VARIABLE));
    return value == null ? unset : Level.toLevel(value);
  }
}
