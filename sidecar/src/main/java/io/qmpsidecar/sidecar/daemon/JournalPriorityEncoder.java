package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;

/**
 * Puts the event's syslog priority before each line, as {@code <3>} for ERROR, {@code <4>} WARN,
 * {@code <6>} INFO and {@code <7>} DEBUG and TRACE: systemd-journald takes it off and keeps it as
 * the entry's priority (its {@code SyslogLevelPrefix=} is on by default), so that
 * {@code journalctl -p err} finds the errors. Only for a stderr that is the journal: in a file the
 * prefix would break the JSON lines.
 */
final class JournalPriorityEncoder extends EncoderBase<ILoggingEvent> {
  private static final byte[] ERROR = prefix(3);
  private static final byte[] WARN = prefix(4);
  private static final byte[] INFO = prefix(6);
  private static final byte[] DEBUG = prefix(7);

  private final Encoder<ILoggingEvent> lines;

  JournalPriorityEncoder(Encoder<ILoggingEvent> lines) {
    this.lines = lines;
  }

  private static byte[] prefix(int priority) {
    return ("<" + priority + ">").getBytes(StandardCharsets.US_ASCII);
  }

  /** The prefix of an event at {@code level}. */
  static byte[] prefix(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> ERROR;
      case Level.WARN_INT -> WARN;
      case Level.INFO_INT -> INFO;
      default -> DEBUG;
    };
  }

  @Override
  public byte[] headerBytes() {
    return lines.headerBytes();
  }

  @Override
  public byte[] footerBytes() {
    return lines.footerBytes();
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    byte[] line = lines.encode(event);
    byte[] prefix = prefix(event.getLevel());
    byte[] out = new byte[prefix.length + line.length];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(line, 0, out, prefix.length, line.length);
    return out;
  }
}
