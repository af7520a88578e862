package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;

/**
 * A fake QEMU under {@code dir} and a ready connection to it, on a Vert.x of their own: the
 * upstream of a proxy in tests of what a real QEMU will not do on cue.
 */
final class FakeUpstream implements AutoCloseable {
  final Vertx vertx;
  final FakeQmpServer qemu;
  final QmpConnection connection;
  private final QmpClient client;

  FakeUpstream(Path dir, VertxOptions options) {
    vertx = Vertx.vertx(options);
    qemu = new FakeQmpServer(vertx, dir);
    client = QmpClient.create(vertx, QmpClientOptions.of(qemu.address()));
    connection = result(client.connect());
  }

  @Override
  public void close() {
    result(client.close());
    qemu.close();
    result(vertx.close());
  }
}
