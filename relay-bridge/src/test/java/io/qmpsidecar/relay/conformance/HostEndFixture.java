package io.qmpsidecar.relay.conformance;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * A host end under test, as {@link HostEndConformance} drives it: this project's
 * {@code RelayHost}, the sidecar with QEMU behind it, or anyone's. Only {@link #start},
 * {@link #crash}, {@link #hostId}, {@link #vm}, {@link #emitNotifications} and {@link #close}
 * are required; a test that needs one of the optional abilities is skipped (not failed) when the
 * host end under test lacks it, with a message saying which.
 */
public interface HostEndFixture extends AutoCloseable {

  /**
   * How the host end must be configured for a test.
   *
   * @param dpuUrl the DPU endpoint to dial, {@code ws://127.0.0.1:PORT/PATH}
   * @param maxMessageBytes the host end's message limit
   * @param heartbeatInterval how often it pings
   * @param heartbeatTimeout silence after which it drops the link
   * @param maxInFlightRequests DPU requests it serves at once
   */
  record Settings(URI dpuUrl, int maxMessageBytes, Duration heartbeatInterval, Duration heartbeatTimeout,
      int maxInFlightRequests) {

    /** The protocol's defaults, except heartbeats fast enough for tests. */
    public static Settings forUrl(URI dpuUrl) {
      return new Settings(dpuUrl, 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(15), 64);
    }

    public Settings withMaxMessageBytes(int bytes) {
      return new Settings(dpuUrl, bytes, heartbeatInterval, heartbeatTimeout, maxInFlightRequests);
    }

    public Settings withHeartbeat(Duration interval, Duration timeout) {
      return new Settings(dpuUrl, maxMessageBytes, interval, timeout, maxInFlightRequests);
    }

    public Settings withMaxInFlightRequests(int max) {
      return new Settings(dpuUrl, maxMessageBytes, heartbeatInterval, heartbeatTimeout, max);
    }
  }

  /**
   * Starts the host end with these settings, or starts it again after {@link #crash()} on the
   * same durable state (its outbox and opId store), as a restarted process would.
   */
  void start(Settings settings);

  /** Ends the host end abruptly, as {@code kill -9} would, keeping its durable state. */
  void crash();

  /** The hostId the host end sends in its hello. */
  String hostId();

  /** A VM the host end serves; its monitor is connected. */
  String vm();

  /** Makes the host end emit {@code count} notifications (VM lifecycle events, say), in its stream. */
  void emitNotifications(int count);

  /**
   * A PCI function the DPU may attach to {@link #vm()}, and whose attach succeeds. Tests of the
   * operation lifecycle need it.
   */
  default Optional<String> attachableBdf() {
    return Optional.empty();
  }

  /** A PCI function whose host preparation fails (no such device in sysfs, say). */
  default String unpreparableBdf() {
    return Assumptions.abort("the host end under test has no function whose host preparation fails");
  }

  /** A PCI function the host prepares but QEMU refuses to add. */
  default String bdfQemuRefuses() {
    return Assumptions.abort("the host end under test has no function QEMU refuses");
  }

  /** A device of {@link #vm()} that was not attached by the DPU (an operator's, say). */
  default String foreignDevice() {
    return Assumptions.abort("the host end under test has no device attached outside the DPU");
  }

  /** Removes a device of a VM outside any DPU operation, as an operator or a guest would. */
  default void removeOutsideTheRelay(String vm, String deviceId) {
    Assumptions.abort("the host end under test cannot remove a device behind the relay's back");
  }

  /** From now on the guest of {@link #vm()} never releases a device it is asked to unplug. */
  default void guestIgnoresUnplugs() {
    Assumptions.abort("the host end under test has no guest that can ignore an unplug");
  }

  /** From now on DPU requests are throttled by the host's policy for {@code retryAfter}. */
  default void throttleDpu(Duration retryAfter) {
    Assumptions.abort("the host end under test has no rate limit to turn on");
  }

  /** From now on operations stay running (not answered) until {@link #releaseOperations()}. */
  default void holdOperations() {
    Assumptions.abort("the host end under test cannot hold operations open");
  }

  /** Waits until {@code count} operations are held (started, not answered). */
  default void awaitHeldOperations(int count) {
    Assumptions.abort("the host end under test cannot hold operations open");
  }

  default void releaseOperations() {
    Assumptions.abort("the host end under test cannot hold operations open");
  }

  /** Stops the host end for good and removes what it started. */
  @Override
  void close();
}
