package io.qmpsidecar.sidecar.migration;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A source QEMU and a destination QEMU ({@code -incoming defer}) of one version, with QMP connections. */
final class TwoQemus implements AutoCloseable {
  final QemuProcess src;
  final QemuProcess dst;
  final QmpConnection source;
  final QmpConnection destination;
  final String uri;
  private final List<QmpClient> clients = new ArrayList<>();

  TwoQemus(Vertx vertx, QemuBinary binary, Path dir, List<String> extra) {
    src = QemuProcess.startQtest(binary, dir, "src", 2, extra.toArray(String[]::new));
    List<String> dstArgs = new ArrayList<>(extra);
    dstArgs.addAll(List.of("-incoming", "defer"));
    dst = QemuProcess.startQtest(binary, dir, "dst", 2, dstArgs.toArray(String[]::new));
    source = connect(vertx, src);
    destination = connect(vertx, dst);
    uri = "tcp:127.0.0.1:" + freePort();
  }

  MigrationEndpoint sourceEndpoint(FunctionHotplug hotplug) {
    return new MigrationEndpoint("vm1", source, hotplug);
  }

  MigrationEndpoint destinationEndpoint(FunctionHotplug hotplug) {
    return new MigrationEndpoint("vm1-dst", destination, hotplug);
  }

  /** A hotplug over both QEMUs, named vm1 and vm1-dst. */
  QmpFunctionHotplug hotplug(Vertx vertx) {
    return new QmpFunctionHotplug(vertx, Map.of("vm1", source, "vm1-dst", destination));
  }

  private QmpConnection connect(Vertx vertx, QemuProcess q) {
    QmpClient client = QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress()));
    clients.add(client);
    return result(client.connect());
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    clients.forEach(c -> c.close());
    src.close();
    dst.close();
  }
}
