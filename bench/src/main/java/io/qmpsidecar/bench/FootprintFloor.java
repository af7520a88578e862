package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link FootprintBench}'s floor: the least a per-VM daemon on the required stack does before it
 * is ready, and nothing of the sidecar. One Vert.x event loop (native transport and no class-path
 * file resolving, as the sidecar's), qmp-client connected to the VM's monitor (greeting and
 * capabilities), then an HTTP server on a Unix socket that answers {@code GET /readyz} with 200,
 * and one line logged through slf4j and logback. No configuration, policy, state store, metrics,
 * relay, proxy or QMP schema.
 *
 * <p>Arguments: the API socket's path, the monitor's Unix socket path, and optionally
 * {@code --exit-when-ready} (the benchmark's training run for this program's class-data archive).
 */
public final class FootprintFloor {
  private static final Logger LOG = LoggerFactory.getLogger(FootprintFloor.class);

  private FootprintFloor() {}

  public static void main(String[] args) {
    if (args.length < 2 || args.length > 3 || (args.length == 3 && !args[2].equals("--exit-when-ready"))) {
      System.err.println("usage: FootprintFloor API_SOCKET QMP_SOCKET [--exit-when-ready]");
      System.exit(2);
    }
    boolean exitWhenReady = args.length == 3;
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1)
        .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false)));
    QmpClient client = QmpClient.create(vertx, QmpClientOptions.of(QmpAddress.unix(Path.of(args[1]))));
    client.connect()
        .compose(connection -> vertx.createHttpServer()
            .requestHandler(request -> request.response()
                .setStatusCode(request.path().equals("/readyz") ? 200 : 404)
                .end(request.path().equals("/readyz") ? "ready\n" : "not found\n"))
            .listen(SocketAddress.domainSocketAddress(args[0])))
        .onSuccess(server -> {
          LOG.info("ready: {}", args[0]);
          if (exitWhenReady) {
            client.close().eventually(() -> vertx.close()).onComplete(closed -> System.exit(0));
          }
        })
        .onFailure(e -> {
          LOG.error("not ready: {}", e.getMessage(), e);
          vertx.close().onComplete(closed -> System.exit(1));
        });
  }
}
