package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.nio.file.Path;
import org.slf4j.Logger;

/**
 * The log set-up, in code rather than logback XML: reading XML at start loaded some 400 classes
 * (Joran and the JDK's XML parser) that the daemon needs for nothing else. Human lines
 * ({@link HumanLineEncoder}) on stderr by default (stdout is for command output); {@link Logging}
 * switches to JSON lines ({@link JsonLineEncoder}), puts journald priorities before lines that go
 * to the journal and sends the audit to its own file. The root level is
 * {@code QMP_SIDECAR_LOG_LEVEL} (a system property or the environment), WARN for human lines and
 * INFO for JSON when unset; Netty and Vert.x log at WARN. A logback file named by
 * {@code -Dlogback.configurationFile} still wins: logback then reads it as usual.
 */
public final class LogConfigurator extends ContextAwareBase implements Configurator {
  static final String LEVEL_VARIABLE = "QMP_SIDECAR_LOG_LEVEL";
  /** The logger of every policy decision and automation outcome. */
  public static final String AUDIT_LOGGER = "io.qmpsidecar.audit";
  /** The name of the audit logger's file appender, when {@code log.auditFile} is set. */
  static final String AUDIT_APPENDER = "AUDIT";

  /** Called by logback (a service in META-INF/services) when the first logger is asked for. */
  public LogConfigurator() {}

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(context, false, false, null);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /**
   * Replaces the context's set-up: human or JSON lines on stderr, each after its syslog priority
   * ({@code <6>}) when {@code journal} (stderr is the journal); and when {@code auditFile} is not
   * null, the audit logger's records in that file as JSON lines, and no longer on stderr.
   */
  static void apply(LoggerContext context, boolean json, boolean journal, Path auditFile) {
    context.reset();
    Encoder<ILoggingEvent> encoder = json ? new JsonLineEncoder() : new HumanLineEncoder();
    if (journal) {
      encoder = new JournalPriorityEncoder(started(context, encoder));
    }
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(started(context, encoder));
    stderr.start();
    context.getLogger("io.netty").setLevel(Level.WARN);
    context.getLogger("io.vertx").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(rootLevel(json ? Level.INFO : Level.WARN));
    root.addAppender(stderr);
    if (auditFile != null) {
      FileAppender<ILoggingEvent> file = new FileAppender<>();
      file.setContext(context);
      file.setName(AUDIT_APPENDER);
      file.setFile(auditFile.toString());
      file.setAppend(true);
      file.setEncoder(started(context, new JsonLineEncoder()));
      file.start();
      // Every decision, whatever QMP_SIDECAR_LOG_LEVEL says: an audit trail with gaps is no trail.
      ch.qos.logback.classic.Logger audit = context.getLogger(AUDIT_LOGGER);
      audit.setLevel(Level.INFO);
      audit.setAdditive(false);
      audit.addAppender(file);
    }
  }

  private static Encoder<ILoggingEvent> started(LoggerContext context, Encoder<ILoggingEvent> encoder) {
    encoder.setContext(context);
    encoder.start();
    return encoder;
  }

  /** As logback's {@code ${QMP_SIDECAR_LOG_LEVEL:-default}} was: a name it does not know is DEBUG. */
  private static Level rootLevel(Level unset) {
    String value = System.getProperty(LEVEL_VARIABLE, System.getenv(LEVEL_VARIABLE));
    return value == null ? unset : Level.toLevel(value);
  }
}
