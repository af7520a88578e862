package io.qmpsidecar.sidecar.testing;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One Vert.x for a test class, started before its first test and closed after its last:
 * {@code @RegisterExtension static final TestVertx VERTX = new TestVertx();}, then {@link #get()}.
 */
public final class TestVertx implements BeforeAllCallback, AfterAllCallback {
  private Vertx vertx;

  @Override
  public void beforeAll(ExtensionContext context) {
    vertx = Vertx.vertx();
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
