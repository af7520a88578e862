package io.qmpsidecar.relay.conformance;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A DPU end under test, as {@link DpuEndConformance} drives it: this project's
 * {@code DpuEndpoint}, or anyone's. It listens with plain WebSocket on loopback.
 */
public interface DpuEndFixture extends AutoCloseable {

  /**
   * How the DPU end must be configured for a test.
   *
   * @param path the HTTP path it serves
   * @param maxMessageBytes its message limit
   * @param heartbeatInterval how often it pings
   * @param heartbeatTimeout silence after which it drops a host
   * @param helloTimeout how long a new link may take to send relay.hello
   */
  record Settings(String path, int maxMessageBytes, Duration heartbeatInterval, Duration heartbeatTimeout,
      Duration helloTimeout) {

    /** The protocol's defaults. */
    public static Settings defaults() {
      return new Settings("/relay", 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(10));
    }

    public Settings withPath(String p) {
      return new Settings(p, maxMessageBytes, heartbeatInterval, heartbeatTimeout, helloTimeout);
    }

    public Settings withMaxMessageBytes(int bytes) {
      return new Settings(path, bytes, heartbeatInterval, heartbeatTimeout, helloTimeout);
    }

    public Settings withHeartbeat(Duration interval, Duration timeout) {
      return new Settings(path, maxMessageBytes, interval, timeout, helloTimeout);
    }

    public Settings withHelloTimeout(Duration timeout) {
      return new Settings(path, maxMessageBytes, heartbeatInterval, heartbeatTimeout, timeout);
    }
  }

  /** A notification as the DPU end's application saw it. */
  record Delivered(String hostId, long seq, String method) {}

  /** Starts listening; returns the URL a host dials, {@code ws://127.0.0.1:PORT/PATH}. */
  URI start(Settings settings);

  /** The dpuId the DPU end answers the hello with. */
  String dpuId();

  /**
   * What the DPU end handed to its application so far, in order, when the end under test can
   * tell; tests then also check delivery, not only acks.
   */
  default Optional<List<Delivered>> delivered() {
    return Optional.empty();
  }

  @Override
  void close();
}
