package io.qmpsidecar.qmp;

import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a QMP connection. Build with {@link #of(QmpAddress)} and change with the
 * {@code with…} copies; each default is the {@code DEFAULT_*} constant named in its Javadoc.
 *
 * @param address where QEMU's monitor listens
 * @param connectTimeout how long opening the socket may take ({@link #DEFAULT_CONNECT_TIMEOUT})
 * @param greetingTimeout how long the greeting plus {@code qmp_capabilities} may take once the
 *     socket is open; a SIGSTOPped QEMU accepts the socket but never greets
 *     ({@link #DEFAULT_GREETING_TIMEOUT})
 * @param commandTimeout a command's timeout unless the call gives its own
 *     ({@link #DEFAULT_COMMAND_TIMEOUT})
 * @param maxInFlight in-band commands sent and not yet answered ({@link #DEFAULT_MAX_IN_FLIGHT},
 *     as the QMP spec advises: QEMU stops reading its socket beyond its own queue of 8)
 * @param maxQueuedCommands commands waiting for an in-flight slot; beyond it a command fails at
 *     once with {@link QmpQueueFullException} ({@link #DEFAULT_MAX_QUEUED_COMMANDS})
 * @param maxLineBytes longest line accepted from QEMU ({@link #DEFAULT_MAX_LINE_BYTES}); a longer
 *     one resets the connection
 * @param enableOob negotiate {@code oob} when QEMU offers it (default true: QEMU then reads
 *     commands ahead of execution and answers pipelined commands about twice as fast)
 * @param reconnect what to do when QEMU goes away ({@link ReconnectPolicy#DISABLED})
 * @param eventQueueCapacity events buffered per subscriber when a subscription does not set its
 *     own ({@link #DEFAULT_EVENT_QUEUE_CAPACITY}); beyond it events are dropped and counted
 */
public record QmpClientOptions(
    QmpAddress address,
    Duration connectTimeout,
    Duration greetingTimeout,
    Duration commandTimeout,
    int maxInFlight,
    int maxQueuedCommands,
    int maxLineBytes,
    boolean enableOob,
    ReconnectPolicy reconnect,
    int eventQueueCapacity) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_GREETING_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_IN_FLIGHT = 8;
  public static final int DEFAULT_MAX_QUEUED_COMMANDS = 1024;
  public static final int DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
  public static final int DEFAULT_EVENT_QUEUE_CAPACITY = 1024;
  /** The smallest line limit allowed: {@code query-qmp-schema} alone is ~236 KB on QEMU 10.0. */
  public static final int MIN_MAX_LINE_BYTES = 1024 * 1024;

  public QmpClientOptions {
    Objects.requireNonNull(address, "address");
    requirePositive(connectTimeout, "connectTimeout");
    requirePositive(greetingTimeout, "greetingTimeout");
    requirePositive(commandTimeout, "commandTimeout");
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
    }
    if (maxQueuedCommands < 0) {
      throw new IllegalArgumentException("maxQueuedCommands must be >= 0, got " + maxQueuedCommands);
    }
    if (maxLineBytes < MIN_MAX_LINE_BYTES) {
      throw new IllegalArgumentException("maxLineBytes must be >= " + MIN_MAX_LINE_BYTES
          + " (query-qmp-schema replies are hundreds of KB), got " + maxLineBytes);
    }
    Objects.requireNonNull(reconnect, "reconnect");
    if (eventQueueCapacity < 1) {
      throw new IllegalArgumentException("eventQueueCapacity must be >= 1, got " + eventQueueCapacity);
    }
  }

  private static void requirePositive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
    }
  }

  /** Options with every default for the given address. */
  public static QmpClientOptions of(QmpAddress address) {
    return new QmpClientOptions(address, DEFAULT_CONNECT_TIMEOUT, DEFAULT_GREETING_TIMEOUT,
        DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUED_COMMANDS,
        DEFAULT_MAX_LINE_BYTES, true, ReconnectPolicy.DISABLED, DEFAULT_EVENT_QUEUE_CAPACITY);
  }

  public QmpClientOptions withConnectTimeout(Duration d) {
    return new QmpClientOptions(address, d, greetingTimeout, commandTimeout, maxInFlight,
        maxQueuedCommands, maxLineBytes, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withGreetingTimeout(Duration d) {
    return new QmpClientOptions(address, connectTimeout, d, commandTimeout, maxInFlight,
        maxQueuedCommands, maxLineBytes, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withCommandTimeout(Duration d) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, d, maxInFlight,
        maxQueuedCommands, maxLineBytes, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withMaxInFlight(int n) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout, n,
        maxQueuedCommands, maxLineBytes, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withMaxQueuedCommands(int n) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout,
        maxInFlight, n, maxLineBytes, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withMaxLineBytes(int n) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout,
        maxInFlight, maxQueuedCommands, n, enableOob, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withEnableOob(boolean enable) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout,
        maxInFlight, maxQueuedCommands, maxLineBytes, enable, reconnect, eventQueueCapacity);
  }

  public QmpClientOptions withReconnect(ReconnectPolicy policy) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout,
        maxInFlight, maxQueuedCommands, maxLineBytes, enableOob, policy, eventQueueCapacity);
  }

  public QmpClientOptions withEventQueueCapacity(int n) {
    return new QmpClientOptions(address, connectTimeout, greetingTimeout, commandTimeout,
        maxInFlight, maxQueuedCommands, maxLineBytes, enableOob, reconnect, n);
  }
}
