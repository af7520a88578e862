package io.qmpsidecar.libvirt;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link LibvirtClient} connects and how long it waits. Immutable; {@code with...} returns
 * a copy.
 *
 * @param uri the libvirt URI, e.g. {@code qemu:///system}
 * @param connectTimeout how long the first connection may take; default
 *     {@link #DEFAULT_CONNECT_TIMEOUT}
 * @param callTimeout how long one call may take before its future fails with
 *     {@link LibvirtTimeoutException}; default {@link #DEFAULT_CALL_TIMEOUT}
 * @param migrationTimeout the same for a migration call, which lasts as long as the migration;
 *     default {@link #DEFAULT_MIGRATION_TIMEOUT}
 * @param workers threads that make libvirt calls (libvirt's calls block); default
 *     {@link #DEFAULT_WORKERS}
 * @param maxQueuedCalls calls that may wait for a worker; one more fails at once with
 *     {@link LibvirtUnavailableException}; default {@link #DEFAULT_MAX_QUEUED_CALLS}
 * @param keepAliveIntervalSeconds libvirt keepalive interval; default
 *     {@link #DEFAULT_KEEPALIVE_INTERVAL_SECONDS}
 * @param keepAliveCount unanswered keepalives before libvirt closes the connection; default
 *     {@link #DEFAULT_KEEPALIVE_COUNT}
 * @param reconnectMin first delay before a reconnect; doubles per failure up to
 *     {@code reconnectMax}; defaults {@link #DEFAULT_RECONNECT_MIN}, {@link #DEFAULT_RECONNECT_MAX}
 * @param qemuMonitorEvents also register {@code virConnectDomainQemuMonitorEventRegister} for
 *     raw QMP events (read-only; it does not taint the domain, verified with libvirt 9.0);
 *     default false
 */
public record LibvirtClientOptions(String uri, Duration connectTimeout, Duration callTimeout, Duration migrationTimeout,
    int workers, int maxQueuedCalls, int keepAliveIntervalSeconds, int keepAliveCount,
    Duration reconnectMin, Duration reconnectMax, boolean qemuMonitorEvents) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_MIGRATION_TIMEOUT = Duration.ofMinutes(30);
  public static final int DEFAULT_WORKERS = 4;
  public static final int DEFAULT_MAX_QUEUED_CALLS = 256;
  public static final int DEFAULT_KEEPALIVE_INTERVAL_SECONDS = 5;
  public static final int DEFAULT_KEEPALIVE_COUNT = 3;
  public static final Duration DEFAULT_RECONNECT_MIN = Duration.ofMillis(200);
  public static final Duration DEFAULT_RECONNECT_MAX = Duration.ofSeconds(10);

  public LibvirtClientOptions {
    Objects.requireNonNull(uri, "uri");
    if (uri.isBlank()) {
      throw new IllegalArgumentException("uri must not be blank (e.g. qemu:///system)");
    }
    positive("connectTimeout", connectTimeout);
    positive("callTimeout", callTimeout);
    positive("migrationTimeout", migrationTimeout);
    positive("reconnectMin", reconnectMin);
    positive("reconnectMax", reconnectMax);
    if (reconnectMax.compareTo(reconnectMin) < 0) {
      throw new IllegalArgumentException("reconnectMax " + reconnectMax + " is below reconnectMin " + reconnectMin);
    }
    if (workers < 1 || workers > 64) {
      throw new IllegalArgumentException("workers must be 1..64, got " + workers);
    }
    if (maxQueuedCalls < 1 || maxQueuedCalls > 100_000) {
      throw new IllegalArgumentException("maxQueuedCalls must be 1..100000, got " + maxQueuedCalls);
    }
    if (keepAliveIntervalSeconds < 1 || keepAliveCount < 1) {
      throw new IllegalArgumentException("keepalive interval and count must be >= 1, got "
          + keepAliveIntervalSeconds + " and " + keepAliveCount);
    }
  }

  private static void positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
  }

  /** The defaults for {@code uri}. */
  public static LibvirtClientOptions of(String uri) {
    return new LibvirtClientOptions(uri, DEFAULT_CONNECT_TIMEOUT, DEFAULT_CALL_TIMEOUT, DEFAULT_MIGRATION_TIMEOUT, DEFAULT_WORKERS,
        DEFAULT_MAX_QUEUED_CALLS, DEFAULT_KEEPALIVE_INTERVAL_SECONDS, DEFAULT_KEEPALIVE_COUNT,
        DEFAULT_RECONNECT_MIN, DEFAULT_RECONNECT_MAX, false);
  }

  public LibvirtClientOptions withConnectTimeout(Duration d) {
    return new LibvirtClientOptions(uri, d, callTimeout, migrationTimeout, workers, maxQueuedCalls,
        keepAliveIntervalSeconds, keepAliveCount, reconnectMin, reconnectMax, qemuMonitorEvents);
  }

  public LibvirtClientOptions withCallTimeout(Duration d) {
    return new LibvirtClientOptions(uri, connectTimeout, d, migrationTimeout, workers, maxQueuedCalls,
        keepAliveIntervalSeconds, keepAliveCount, reconnectMin, reconnectMax, qemuMonitorEvents);
  }

  public LibvirtClientOptions withMigrationTimeout(Duration d) {
    return new LibvirtClientOptions(uri, connectTimeout, callTimeout, d, workers, maxQueuedCalls,
        keepAliveIntervalSeconds, keepAliveCount, reconnectMin, reconnectMax, qemuMonitorEvents);
  }

  public LibvirtClientOptions withWorkers(int n, int queued) {
    return new LibvirtClientOptions(uri, connectTimeout, callTimeout, migrationTimeout, n, queued,
        keepAliveIntervalSeconds, keepAliveCount, reconnectMin, reconnectMax, qemuMonitorEvents);
  }

  public LibvirtClientOptions withKeepAlive(int intervalSeconds, int count) {
    return new LibvirtClientOptions(uri, connectTimeout, callTimeout, migrationTimeout, workers, maxQueuedCalls,
        intervalSeconds, count, reconnectMin, reconnectMax, qemuMonitorEvents);
  }

  public LibvirtClientOptions withReconnect(Duration min, Duration max) {
    return new LibvirtClientOptions(uri, connectTimeout, callTimeout, migrationTimeout, workers, maxQueuedCalls,
        keepAliveIntervalSeconds, keepAliveCount, min, max, qemuMonitorEvents);
  }

  public LibvirtClientOptions withQemuMonitorEvents(boolean on) {
    return new LibvirtClientOptions(uri, connectTimeout, callTimeout, migrationTimeout, workers, maxQueuedCalls,
        keepAliveIntervalSeconds, keepAliveCount, reconnectMin, reconnectMax, on);
  }
}
