package io.qmpsidecar.sidecar.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Talks to a sidecar's API socket from a test. Every request chain is built on one Vert.x
 * context: chained from a plain thread onto an already completed future, a callback would run
 * on that thread, and a response body could arrive before its handler is set.
 *
 * <p>Each exchange holds this client until it ends. Tests drop it as soon as they have sent
 * ({@code harness.api().call(...)}), and Vert.x shuts down a client that nobody references once
 * a collection finds it: a request it is still setting up then fails ({@code Connection was
 * closed}, {@code Pool closed}) or never completes.
 */
public final class ApiTestClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http;
  private final Context context;
  private final Path socket;

  /** A status, the content type and the JSON body (null when empty). */
  public record Reply(int status, String contentType, JsonNode body) {}

  public ApiTestClient(Vertx vertx, Path socket) {
    this(vertx, socket, new HttpClientOptions());
  }

  /** With client options, e.g. TLS trust for the API's TCP listener. */
  public ApiTestClient(Vertx vertx, Path socket, HttpClientOptions options) {
    this.http = vertx.createHttpClient(options);
    this.context = vertx.getOrCreateContext();
    this.socket = socket;
  }

  public RequestOptions options(HttpMethod method, String uri) {
    return new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
        .setHost("localhost").setMethod(method).setURI(uri);
  }

  /** Sends and waits (bounded) for the whole reply. */
  public Reply call(HttpMethod method, String uri, String body) {
    return call(options(method, uri), body);
  }

  public Reply call(RequestOptions options, String body) {
    return Await.result(send(options, body));
  }

  /** Sends without waiting, e.g. from an event listener that must not block. */
  public Future<Reply> send(RequestOptions options, String body) {
    return onContext(() -> http.request(options).compose(r -> body == null ? r.send() : r.send(Buffer.buffer(body)))
        .compose(r -> r.body().map(b -> reply(r, b))));
  }

  /**
   * Opens a streaming GET; {@code handler} gets every chunk from the first one on. The open stream
   * holds this client too: the streams of a client Vert.x shut down are cut after 30 s.
   */
  public HttpClientResponse stream(RequestOptions options, Consumer<Buffer> handler) {
    return Await.result(onContext(() -> http.request(options).compose(r -> r.send())
        .onSuccess(r -> r.handler(chunk -> {
          handler.accept(chunk);
          Reference.reachabilityFence(http);
        }))));
  }

  private <T> Future<T> onContext(Supplier<Future<T>> chain) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> chain.get().andThen(ar -> Reference.reachabilityFence(http)).onComplete(promise));
    return promise.future();
  }

  private static Reply reply(HttpClientResponse r, Buffer b) {
    JsonNode node;
    try {
      node = b.length() == 0 ? null : JSON.readTree(b.getBytes());
    } catch (IOException e) {
      node = JSON.getNodeFactory().textNode(b.toString());
    }
    return new Reply(r.statusCode(), r.getHeader("content-type"), node);
  }
}
