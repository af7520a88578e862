package io.qmpsidecar.resilience.bypass;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.resilience.surface.QmpLine;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One way a non-administrator caller passes raw QMP through the sidecar: the VM's proxy socket,
 * or the API's {@code POST /v1/vms/VM/qmp} on the Unix socket or on TCP with a bearer token.
 * {@link #send} returns what the caller got back and whether it was the policy's denial (the
 * proxy's {@code denied by policy} error, the API's 403 naming the rule), as opposed to an answer
 * from QEMU, which would mean the request reached QEMU.
 */
interface PassthroughChannel extends AutoCloseable {
  ObjectMapper JSON = new ObjectMapper();
  Duration WAIT = Duration.ofSeconds(10);

  /** What came back. */
  record Answer(boolean deniedByPolicy, String text) {}

  String name();

  Answer send(String vm, String qmp);

  @Override
  void close();

  /** The proxy socket of each VM, {@code proxyDir/VM.qmp}, one connection per VM. */
  static PassthroughChannel proxy(Path proxyDir) {
    return new PassthroughChannel() {
      private final java.util.Map<String, QmpLine> lines = new java.util.HashMap<>();

      @Override
      public String name() {
        return "proxy";
      }

      @Override
      public Answer send(String vm, String qmp) {
        QmpLine line = lines.computeIfAbsent(vm, v -> QmpLine.connect(proxyDir.resolve(v + ".qmp"), WAIT));
        JsonNode reply = line.call(qmp, WAIT);
        return new Answer(reply.path("error").path("desc").asText().contains("denied by policy"),
            reply.toString());
      }

      @Override
      public void close() {
        lines.values().forEach(QmpLine::close);
      }
    };
  }

  /**
   * The API on its Unix socket ({@code token} null) or on TCP port {@code port} with a token. Each
   * exchange holds the client until it ends: Vert.x shuts down a client nobody references.
   */
  static PassthroughChannel api(Vertx vertx, String name, Path socket, int port, String token) {
    HttpClient http = vertx.createHttpClient();
    Context context = vertx.getOrCreateContext();
    return new PassthroughChannel() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Answer send(String vm, String qmp) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/vms/" + vm + "/qmp");
        if (token == null) {
          options.setServer(SocketAddress.domainSocketAddress(socket.toString())).setHost("localhost");
        } else {
          options.setHost("127.0.0.1").setPort(port).putHeader("authorization", "Bearer " + token);
        }
        Promise<Answer> promise = Promise.promise();
        context.runOnContext(v -> http.request(options).compose(r -> r.send(Buffer.buffer(qmp)))
            .compose(r -> r.body().map(b -> answer(r.statusCode(), b)))
            .andThen(ar -> Reference.reachabilityFence(http)).onComplete(promise));
        return Await.result(promise.future(), WAIT);
      }

      @Override
      public void close() {
        Await.result(http.close());
      }
    };
  }

  private static Answer answer(int status, Buffer body) {
    JsonNode json;
    try {
      json = JSON.readTree(body.getBytes());
    } catch (IOException e) {
      json = JSON.getNodeFactory().textNode(body.toString());
    }
    return new Answer(status == 403 && json.path("rule").isTextual(), status + " " + json);
  }
}
