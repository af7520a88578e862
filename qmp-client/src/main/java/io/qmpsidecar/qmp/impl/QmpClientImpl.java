package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** Creates connections that share one {@link NetClient}; closes them all on close. */
public final class QmpClientImpl implements QmpClient {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Vertx vertx;
  private final QmpClientOptions options;
  private final NetClient net;
  private final Set<QmpConnectionImpl> connections = ConcurrentHashMap.newKeySet();

  public QmpClientImpl(Vertx vertx, QmpClientOptions options) {
    this.vertx = vertx;
    this.options = options;
    this.net = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis())));
  }

  @Override
  public Future<QmpConnection> connect() {
    return connect(c -> { });
  }

  @Override
  public Future<QmpConnection> connect(Consumer<QmpConnection> beforeOpen) {
    Context context = vertx.getOrCreateContext();
    QmpConnectionImpl connection = new QmpConnectionImpl(vertx, context, net, options, MAPPER);
    connections.add(connection);
    connection.closeFuture().onComplete(v -> connections.remove(connection));
    Promise<QmpConnection> result = Promise.promise();
    context.runOnContext(v -> {
      beforeOpen.accept(connection);
      connection.open().onComplete(result);
    });
    return result.future();
  }

  @Override
  public QmpClientOptions options() {
    return options;
  }

  @Override
  public Future<Void> close() {
    List<Future<Void>> closing = connections.stream().map(QmpConnectionImpl::close).toList();
    return Future.join(closing).transform(ar -> net.close());
  }
}
