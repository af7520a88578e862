package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.Map;

/**
 * The human log lines: {@code HH:mm:ss.SSS LEVEL logger vm=… op=… caller=… qmp=… - message}
 * (local time; the level padded to five; the logger's simple name; each of the four MDC keys only
 * when set), then the exception's stack trace as logback prints it.
 *
 * <p>Written here rather than as a logback pattern: compiling a pattern (its converters and the
 * lambdas that make them, and a date formatter) took some 40 ms of every start of the daemon, for
 * a line that these few lines write.
 */
final class HumanLineEncoder extends LineEncoder {
  private static final String[] MDC_KEYS = {"vm", "op", "caller", "qmp"};
  private final ZoneId zone = ZoneId.systemDefault();

  @Override
  public byte[] encode(ILoggingEvent event) {
    StringBuilder line = new StringBuilder(160);
    LocalTime time = LocalTime.ofInstant(event.getInstant(), zone);
    twoDigits(line, time.getHour()).append(':');
    twoDigits(line, time.getMinute()).append(':');
    twoDigits(line, time.getSecond()).append('.');
    int millis = time.getNano() / 1_000_000;
    line.append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10)).append((char) ('0' + millis % 10));
    String level = event.getLevel().toString();
    line.append(' ').append(level);
    for (int i = level.length(); i < 5; i++) {
      line.append(' ');
    }
    String logger = event.getLoggerName();
    line.append(' ').append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(' ');
    Map<String, String> mdc = event.getMDCPropertyMap();
    if (mdc != null && !mdc.isEmpty()) {
      for (String key : MDC_KEYS) {
        String value = mdc.get(key);
        if (value != null && !value.isEmpty()) {
          line.append(key).append('=').append(value).append(' ');
        }
      }
    }
    line.append("- ").append(event.getFormattedMessage()).append('\n');
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      line.append(ThrowableProxyUtil.asString(thrown));
    }
    return line.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static StringBuilder twoDigits(StringBuilder line, int n) {
    return line.append((char) ('0' + n / 10)).append((char) ('0' + n % 10));
  }
}
