package io.qmpsidecar.sidecar.testing;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One Vert.x for a test class, started before its first test and closed after its last:
 * {@code @RegisterExtension static final TestVertx VERTX = new TestVertx();}, then {@link #get()}.
 */
public final class TestVertx implements BeforeAllCallback, AfterAllCallback {
  private final boolean nativeTransport;
  private Vertx vertx;

  public TestVertx() {
    this(false);
  }

  private TestVertx(boolean nativeTransport) {
    this.nativeTransport = nativeTransport;
  }

  /**
   * A Vert.x on Netty's epoll transport, as the daemon's: the kernel names the peer of a Unix
   * socket, and descriptors can be passed.
   */
  public static TestVertx nativeTransport() {
    return new TestVertx(true);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(nativeTransport));
    if (nativeTransport && !vertx.isNativeTransportEnabled()) {
      throw new IllegalStateException("Netty's epoll transport is not on the test classpath: "
          + vertx.unavailableNativeTransportCause());
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    result(vertx.close());
  }

  public Vertx get() {
    if (vertx == null) {
      throw new IllegalStateException("TestVertx is used before its class started: register it as a static extension");
    }
    return vertx;
  }
}
