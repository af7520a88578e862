package io.qmpsidecar.sidecar.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests drop their {@link ApiTestClient} as soon as a request is sent, and Vert.x shuts down a
 * client nobody references once a collection finds it. A request still being set up is the one
 * that suffers: here, one waiting in the client's pool for a connection while the pool's others
 * are busy. The server is a plain Vert.x one that answers when told (a sidecar answers too soon to
 * hold a collection inside the exchange).
 */
class ApiTestClientTest {
  @TempDir
  Path dir;
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    Await.result(vertx.close());
  }

  @Test
  void aRequestWaitingForAConnectionIsAnsweredAfterACollection() throws Exception {
    BlockingQueue<HttpServerResponse> held = new LinkedBlockingQueue<>(16);
    Path socket = dir.resolve("api.sock");
    Await.result(vertx.createHttpServer().requestHandler(request -> held.add(request.response()))
        .listen(SocketAddress.domainSocketAddress(socket.toString())));
    int connections = new PoolOptions().getHttp1MaxSize();

    List<Future<ApiTestClient.Reply>> replies = sendFromAClientNobodyKeeps(socket, connections + 1);
    List<HttpServerResponse> busy = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      busy.add(held.poll(20, TimeUnit.SECONDS));
    }
    assertThat(busy).as("the requests that got a connection reached the server").doesNotContainNull();
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(40);
    }
    vertx.runOnContext(v -> busy.forEach(r -> r.end("{}")));
    HttpServerResponse last = held.poll(20, TimeUnit.SECONDS);
    assertThat(last).as("the request that waited for a connection reached the server").isNotNull();
    vertx.runOnContext(v -> last.end("{}"));

    for (Future<ApiTestClient.Reply> reply : replies) {
      assertThat(Await.result(reply).status()).isEqualTo(200);
    }
  }

  private List<Future<ApiTestClient.Reply>> sendFromAClientNobodyKeeps(Path socket, int count) {
    ApiTestClient client = new ApiTestClient(vertx, socket);
    List<Future<ApiTestClient.Reply>> replies = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      replies.add(client.send(client.options(HttpMethod.GET, "/slow"), null));
    }
    return replies;
  }
}
