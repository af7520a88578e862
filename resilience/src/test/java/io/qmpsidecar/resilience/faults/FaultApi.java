package io.qmpsidecar.resilience.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.Supplier;

/**
 * A sidecar's API socket as the fault tests call it (the pattern of the sidecar module's
 * ApiTestClient, which that module does not publish): every request chain is built on one Vert.x
 * context, so a response body never arrives before its handler is set; each exchange holds the
 * client until it ends, because Vert.x shuts down a client nobody references (see ApiTestClient).
 */
final class FaultApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http;
  private final Context context;
  private final Path socket;

  /** A status and the JSON body (null when empty, a text node when not JSON). */
  record Reply(int status, JsonNode body) {}

  FaultApi(Vertx vertx, Path socket) {
    this.http = vertx.createHttpClient();
    this.context = vertx.getOrCreateContext();
    this.socket = socket;
  }

  /** Sends and waits (bounded by {@link Await#DEFAULT}) for the whole reply. */
  Reply call(HttpMethod method, String uri, String body) {
    return Await.result(send(method, uri, body));
  }

  /** Hot-plugged devices QEMU has under /machine/peripheral (the root ports rpN are its config), sorted. */
  List<String> qemuDevices(String vm) {
    Reply r = call(HttpMethod.POST, "/v1/vms/" + vm + "/qmp",
        "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}");
    assertThat(r.status()).as("qom-list on %s: %s", vm, r.body()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.body().path("return").forEach(p -> {
      if (p.path("type").asText().startsWith("child<") && !p.path("name").asText().matches("rp\\d+")) {
        ids.add(p.path("name").asText());
      }
    });
    return ids.stream().sorted().toList();
  }

  /** The devices the sidecar has recorded for the VM, sorted. */
  List<String> recordedDevices(String vm) {
    Reply r = call(HttpMethod.GET, "/v1/vms/" + vm + "/devices", null);
    assertThat(r.status()).as("devices of %s: %s", vm, r.body()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.body().forEach(d -> ids.add(d.path("id").asText()));
    return ids.stream().sorted().toList();
  }

  /**
   * The VM's real device set matches the sidecar's record, or each difference was reported:
   * {@code reported(type, id)} tells whether a {@code drift.*} event of that type named the device.
   */
  void assertRecordMatchesQemuOrDrift(String vm, BiPredicate<String, String> reported) {
    List<String> inQemu = qemuDevices(vm);
    List<String> recorded = recordedDevices(vm);
    for (String id : inQemu) {
      assertThat(recorded.contains(id) || reported.test(EventTypes.DRIFT_UNKNOWN, id))
          .as("%s in QEMU but neither recorded nor reported (record %s)", id, recorded).isTrue();
    }
    for (String id : recorded) {
      assertThat(inQemu.contains(id) || reported.test(EventTypes.DRIFT_MISSING, id))
          .as("%s recorded but not in QEMU and not reported (QEMU has %s)", id, inQemu).isTrue();
    }
  }

  /** QMP commands sent to the VM's QEMU and not answered, from the sidecar's metrics. */
  double inFlight(String vm) {
    Matcher m = Pattern.compile("qmp_sidecar_qmp_commands_in_flight\\{vm=\"" + vm + "\"\\} (\\S+)")
        .matcher(call(HttpMethod.GET, "/metrics", null).body().asText());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** Sends without waiting. */
  Future<Reply> send(HttpMethod method, String uri, String body) {
    RequestOptions options = new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
        .setHost("localhost").setMethod(method).setURI(uri);
    return onContext(() -> http.request(options).compose(r -> body == null ? r.send() : r.send(Buffer.buffer(body)))
        .compose(r -> r.body().map(b -> reply(r, b))));
  }

  /**
   * Opens a streaming GET and appends every chunk to {@code into}; the stream ends when the
   * sidecar goes away. Waits (bounded) for the response head only.
   */
  void stream(String uri, StringBuffer into) {
    RequestOptions options = new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
        .setHost("localhost").setMethod(HttpMethod.GET).setURI(uri);
    Await.result(onContext(() -> http.request(options).compose(r -> r.send())
        .onSuccess(r -> r.handler(b -> {
          into.append(b.toString());
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
    return new Reply(r.statusCode(), node);
  }
}
