package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The human log lines, as docs/operations.md shows them: the same bytes as the logback pattern the
 * daemon used before {@link HumanLineEncoder} replaced it, for every shape of event it writes.
 */
class HumanLogTest {
  /** The pattern the daemon's human lines were written with. */
  private static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} "
      + "%replace(vm=%X{vm} op=%X{op} caller=%X{caller} qmp=%X{qmp} ){\"(\\w+)= \", \"\"}- %msg%n";
  private final LoggerContext context = new LoggerContext();

  @AfterEach
  void stop() {
    context.stop();
  }

  @Test
  void linesAreThoseOfThePatternTheyReplace() throws IOException {
    PatternLayoutEncoder pattern = new PatternLayoutEncoder();
    pattern.setPattern(PATTERN);
    Encoder<ILoggingEvent> reference = started(pattern);
    Encoder<ILoggingEvent> human = started(new HumanLineEncoder());
    Exception cause = new IllegalStateException("socket closed");
    List<LoggingEvent> events = List.of(
        event("io.qmpsidecar.sidecar.daemon.Sidecar", Level.INFO, "qmp-sidecar ready in {} ms", Map.of(), null, 412),
        event("operations", Level.INFO, "qmp {} returned in {} ms",
            Map.of("vm", "src", "op", "attach-5e0c9a1b-7f3d", "caller", "api:local", "qmp", "14"), null,
            "device_add", 3.2),
        event("operations", Level.WARN, "attach.verified {}", Map.of("vm", "src", "caller", "api:local"), null,
            "{\"driver\":\"e1000e\"}"),
        event("io.qmpsidecar.sidecar.vm.VmHandle", Level.ERROR, "VM {}: gone", Map.of("vm", "vm1", "op", ""),
            new java.io.IOException("QMP connection lost", cause), "vm1"),
        event("Root", Level.DEBUG, "unicode: é ✓", Map.of(), null));
    for (LoggingEvent e : events) {
      assertThat(new String(human.encode(e), StandardCharsets.UTF_8)).as(e.getMessage())
          .isEqualTo(new String(reference.encode(e), StandardCharsets.UTF_8));
    }
  }

  private Encoder<ILoggingEvent> started(Encoder<ILoggingEvent> encoder) {
    encoder.setContext(context);
    encoder.start();
    return encoder;
  }

  private LoggingEvent event(String logger, Level level, String message, Map<String, String> mdc, Throwable thrown,
      Object... args) {
    Logger l = context.getLogger(logger);
    LoggingEvent e = new LoggingEvent(Logger.class.getName(), l, level, message, thrown, args);
    e.setInstant(Instant.parse("2025-06-03T09:29:57.061Z"));
    e.setMDCPropertyMap(mdc);
    return e;
  }
}
