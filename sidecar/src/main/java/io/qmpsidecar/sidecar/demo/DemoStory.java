package io.qmpsidecar.sidecar.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
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
import io.vertx.core.parsetools.RecordParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The demo's story, told on {@code out}: two throwaway QEMUs, a DPU agent (the relay's DPU end)
 * and a sidecar between them; a function is attached, migrated with unplug-replug, and detached
 * at the DPU's request, while the event stream and the DPU's notifications are printed as they
 * arrive. Runs on a plain thread; every wait is bounded.
 */
public final class DemoStory {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration STEP = Duration.ofSeconds(60);
  private static final String HOST_ID = "demo-host";

  private final PrintWriter out;
  private final Path qemu;
  private final Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<ReceivedNotification> toDpu = new CopyOnWriteArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private volatile boolean ending;
  private Vertx vertx;
  private Context context;
  private HttpClient http;

  public DemoStory(PrintWriter out, Path qemu, Path dir) {
    this.out = out;
    this.qemu = qemu;
    this.dir = dir;
  }

  /** Tells the whole story; throws naming the step that did not happen. */
  public void run() throws Exception {
    long t0 = System.nanoTime();
    try {
      tell();
    } finally {
      // Late arrivals (QEMU may add a reset of its own) are counted, no longer printed.
      ending = true;
      say("[6/6] shutting down: the sidecar, the DPU agent and both QEMUs");
      for (int i = cleanup.size() - 1; i >= 0; i--) {
        cleanup.get(i).close();
      }
    }
    say("demo: done in %.1f s: %d events on /v1/events, %d notifications delivered to the DPU and acknowledged",
        (System.nanoTime() - t0) / 1e9, events.size(), toDpu.size());
  }

  private void tell() throws Exception {
    vertx = Vertx.vertx();
    cleanup.add(() -> await(vertx.close()));
    http = vertx.createHttpClient();
    context = vertx.getOrCreateContext();

    say("[1/6] starting two throwaway QEMUs in qtest mode (%s): src, and dst waiting for a migration", qemu);
    DemoQemu src = DemoQemu.start(qemu, dir, "src");
    cleanup.add(src);
    DemoQemu dst = DemoQemu.start(qemu, dir, "dst", "-incoming", "defer");
    cleanup.add(dst);

    DpuEndpoint dpu = await(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withPort(0)));
    cleanup.add(() -> await(dpu.close()));
    dpu.notificationHandler(n -> {
      toDpu.add(n);
      if (!ending) {
        say("      DPU <- #%d %s %s", n.seq(), n.method(), n.params());
      }
    });
    Path policy = dir.resolve("demo-policy.yaml");
    try (InputStream in = DemoStory.class.getResourceAsStream("/demo-policy.yaml")) {
      Files.write(policy, in.readAllBytes());
    }
    Path api = dir.resolve("api.sock");
    say("[2/6] starting the DPU agent on ws://127.0.0.1:%d and the sidecar (API on unix:%s, policy %s)",
        dpu.actualPort(), api, policy.getFileName());
    Sidecar sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + api,
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy,
        "relay.url=ws://127.0.0.1:" + dpu.actualPort(), "relay.hostId=" + HOST_ID, "timeouts.detach=300ms"),
        List.of("src=" + src.address(), "dst=" + dst.address())), STEP);
    cleanup.add(sidecar::stop);
    // Nothing runs a guest in qtest mode: this stand-in answers each pending unplug the way a
    // guest's PCIe hotplug driver would, here with a reset.
    var guest = sidecar.events().subscribe(e -> e.type().equals(EventTypes.DETACH_PENDING), 64, e -> {
      say("      guest(%s): releases %s (system_reset stands in for the guest's unplug)", e.vm(), e.text("id"));
      call(HttpMethod.POST, "/v1/vms/" + e.vm() + "/qmp", "{\"execute\":\"system_reset\"}")
          .onFailure(ex -> say("      guest(%s): reset failed: %s", e.vm(), ex.getMessage()));
    });
    cleanup.add(guest::cancel);
    waitFor("both VMs connected and the DPU link up", () -> dpu.connectedHosts().contains(HOST_ID)
        && get("/readyz").path("ready").asBoolean());
    JsonNode vms = await(call(HttpMethod.GET, "/v1/vms", null));
    vms.forEach(vm -> say("      vm %s: %s, QEMU %s", vm.path("name").asText(), vm.path("state").asText(),
        vm.path("qemu").asText()));
    followEvents();

    say("[3/6] attach: POST /v1/vms/src/devices {\"driver\":\"e1000e\",\"id\":\"dpu-nic1\"}"
        + " (an emulated PCIe NIC stands in for a DPU VF)");
    JsonNode attached = await(call(HttpMethod.POST, "/v1/vms/src/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-nic1\"}"));
    say("      -> attached to root port %s%s", attached.path("rootPort").asText(),
        attached.hasNonNull("guestAddress") ? " at guest address " + attached.path("guestAddress").asText() : "");

    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    say("[4/6] migrate: POST /v1/vms/src/migrations {\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:%d\","
        + "\"strategy\":\"unplug-replug\"}", port);
    long m0 = System.nanoTime();
    await(call(HttpMethod.POST, "/v1/vms/src/migrations", "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:" + port
        + "\",\"strategy\":\"unplug-replug\"}"));
    String[] state = {""};
    waitFor("the migration to complete", () -> {
      state[0] = get("/v1/vms/src/migration").path("state").asText();
      if (List.of("ROLLED_BACK", "ROLLBACK_FAILED", "REFUSED").contains(state[0])) {
        throw new IllegalStateException("the migration ended " + state[0]);
      }
      return "COMPLETED".equals(state[0]);
    });
    say("      -> migration COMPLETED in %d ms; dpu-nic1 now lives on dst", (System.nanoTime() - m0) / 1_000_000);

    say("[5/6] detach: the DPU asks device.detach of dpu-nic1 on dst (opId demo-op-1)");
    Map<String, Object> accepted = await(dpu.request(HOST_ID, "device.detach",
        Map.of("opId", "demo-op-1", "vm", "dst", "deviceId", "dpu-nic1")));
    say("      DPU -> device.detach accepted: %s", accepted);
    waitFor("op.completed for demo-op-1", () -> toDpu.stream()
        .anyMatch(n -> n.method().equals("op.completed") && "demo-op-1".equals(n.params().get("opId"))));
    say("      -> the DPU learned that the function is gone only after QEMU's DEVICE_DELETED");
    // The stand-in guest's reset also reaches the DPU, in its own time: the story ends after it.
    waitFor("the DPU to hear of dst's reset", () -> toDpu.stream().anyMatch(n -> n.method().equals("vm.lifecycle")
        && "dst".equals(n.params().get("vm")) && "RESET".equals(n.params().get("event"))));
  }

  /** Prints each event of /v1/events (NDJSON) as it arrives. */
  private void followEvents() {
    RequestOptions o = options(HttpMethod.GET, "/v1/events?format=ndjson&type=attach.*,detach.*,device.*,migration.coordination");
    onContext(() -> http.request(o).compose(r -> r.send()).onSuccess(resp -> resp.handler(RecordParser.newDelimited("\n", line -> {
      try {
        JsonNode e = JSON.readTree(line.getBytes());
        if (e.has("vm")) {
          events.add(e.path("type").asText());
          if (ending) {
            return;
          }
          say("      event #%d %s %s %s", e.path("id").asLong(), e.path("vm").asText(), e.path("type").asText(),
              e.path("data").path("state").asText(e.path("data").path("id").asText("")));
        }
      } catch (IOException ex) {
        say("      event stream: unreadable line %s", line);
      }
    }))));
  }

  private RequestOptions options(HttpMethod method, String uri) {
    return new RequestOptions().setServer(SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString()))
        .setHost("localhost").setMethod(method).setURI(uri);
  }

  /** A GET whose problem answers (e.g. 503 while not ready) are returned, not thrown. */
  private JsonNode get(String uri) {
    try {
      return onContext(() -> http.request(options(HttpMethod.GET, uri)).compose(r -> r.send()).compose(HttpClientResponse::body))
          .map(b -> {
            try {
              return JSON.readTree(b.getBytes());
            } catch (IOException e) {
              throw new IllegalStateException("GET " + uri + " answered with a body that is not JSON: " + b, e);
            }
          }).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("demo: GET " + uri + " failed: " + e.getMessage(), e);
    }
  }

  private Future<JsonNode> call(HttpMethod method, String uri, String body) {
    return onContext(() -> http.request(options(method, uri)).compose(r -> body == null ? r.send() : r.send(Buffer.buffer(body)))
        .compose(r -> r.body().map(b -> parse(r, b))));
  }

  /**
   * Builds a request chain on the demo's context: chained from this plain thread onto an already
   * completed future, a callback would run here, and a response could arrive before its handler.
   */
  private <T> Future<T> onContext(Supplier<Future<T>> chain) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> chain.get().onComplete(promise));
    return promise.future();
  }

  private static JsonNode parse(HttpClientResponse r, Buffer b) {
    try {
      JsonNode node = JSON.readTree(b.getBytes());
      if (r.statusCode() >= 400) {
        throw new IllegalStateException("HTTP " + r.statusCode() + ": " + node.path("detail").asText(node.toString()));
      }
      return node;
    } catch (IOException e) {
      throw new IllegalStateException("HTTP " + r.statusCode() + " with a body that is not JSON: " + b, e);
    }
  }

  private void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + STEP.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("demo: gave up waiting " + STEP.toSeconds() + " s for " + what);
      }
      Thread.sleep(20);
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(STEP.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void say(String format, Object... args) {
    out.printf(format + "%n", args);
    out.flush();
  }
}
