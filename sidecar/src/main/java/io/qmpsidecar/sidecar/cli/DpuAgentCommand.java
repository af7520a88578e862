package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.HostLinkEvent;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayTls;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code qmp-sidecar dpu-agent}: the reference DPU-side agent. Listens for sidecars, logs every
 * host event and notification as one JSON line, and sends the requests it reads as JSON lines
 * ({@code {"host":"h1","method":"vm.list","params":{}}}) from {@code --script} or stdin.
 */
@Command(
    name = "dpu-agent",
    mixinStandardHelpOptions = true,
    description = {"Reference DPU agent: accept sidecars on the relay, log what they send as JSON lines,"
        + " and send requests read as JSON lines from --script or stdin.",
        "Exit codes: 0 done, 1 failure, 2 usage, 3 some request got an error."})
final class DpuAgentCommand implements Callable<Integer> {

  static final int OK = 0;
  static final int FAILURE = 1;
  static final int USAGE = 2;
  static final int REQUEST_FAILED = 3;

  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--listen", required = true, paramLabel = "HOST:PORT",
      description = "Address to listen on, e.g. 0.0.0.0:7443 (TLS) or 127.0.0.1:7443 (--plain).")
  String listen;

  @Option(names = "--cert", paramLabel = "FILE", description = "This DPU's server certificate (PEM).")
  Path cert;

  @Option(names = "--key", paramLabel = "FILE", description = "Its private key (PEM, PKCS#8).")
  Path key;

  @Option(names = "--ca", paramLabel = "FILE", description = "CA that signs the hosts' client certificates (PEM).")
  Path ca;

  @Option(names = "--plain", description = "Development only: no TLS, loopback addresses only.")
  boolean plain;

  @Option(names = "--dpu-id", defaultValue = "dpu", description = "This DPU's id in the hello answer (default: ${DEFAULT-VALUE}).")
  String dpuId;

  @Option(names = "--script", paramLabel = "FILE", description = "Read requests from FILE instead of stdin.")
  Path script;

  @Option(names = "--wait-for-host", defaultValue = "60", paramLabel = "SECONDS",
      description = "How long a request waits for a host to connect (default: ${DEFAULT-VALUE}).")
  int waitForHostSeconds;

  @Option(names = "--exit-when-done", description = "Exit once the requests are answered (and"
      + " --expect-notifications arrived) instead of listening until interrupted.")
  boolean exitWhenDone;

  @Option(names = "--expect-notifications", defaultValue = "0", paramLabel = "N",
      description = "With --exit-when-done: also wait (up to --wait-for-host) for N notifications.")
  int expectNotifications;

  private final AtomicLong notifications = new AtomicLong();
  /** Snapshots asked and not answered yet: --exit-when-done waits for them too. */
  private final AtomicInteger snapshotsAsked = new AtomicInteger();
  private final Object outLock = new Object();
  private volatile String lastHost;
  private volatile CountDownLatch hostUp = new CountDownLatch(1);

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    DpuEndpointOptions options;
    try {
      options = options();
    } catch (IllegalArgumentException e) {
      err.println("dpu-agent: " + e.getMessage());
      err.flush();
      return USAGE;
    }
    Vertx vertx = Vertx.vertx();
    try {
      DpuEndpoint dpu = await(DpuEndpoint.listen(vertx, options), Duration.ofSeconds(30));
      dpu.hostHandler(e -> hostEvent(dpu, e)).notificationHandler(this::notification);
      emit(Map.of("event", "listening", "port", dpu.actualPort()));
      int code = sendRequests(dpu);
      if (exitWhenDone) {
        waitForNotifications();
        await(dpu.close(), Duration.ofSeconds(10));
        return code;
      }
      new CountDownLatch(1).await();
      return code;
    } catch (Exception e) {
      err.println("dpu-agent: " + message(e));
      err.flush();
      return FAILURE;
    } finally {
      vertx.close();
    }
  }

  private DpuEndpointOptions options() {
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("--listen " + listen + " is not HOST:PORT, e.g. 127.0.0.1:7443");
    }
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--listen " + listen + " has no numeric port, e.g. 127.0.0.1:7443");
    }
    RelayTls tls = null;
    if (plain) {
      if (cert != null || key != null || ca != null) {
        throw new IllegalArgumentException("--plain cannot be combined with --cert, --key or --ca");
      }
    } else if (cert == null || key == null || ca == null) {
      throw new IllegalArgumentException("give --cert, --key and --ca for mutual TLS, or --plain for a loopback"
          + " development link");
    } else {
      tls = new RelayTls(cert, key, ca);
    }
    return DpuEndpointOptions.defaults().withBindHost(listen.substring(0, colon)).withPort(port)
        .withDpuId(dpuId).withTls(tls);
  }

  private int sendRequests(DpuEndpoint dpu) throws Exception {
    BufferedReader in = script != null ? Files.newBufferedReader(script, StandardCharsets.UTF_8)
        : new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int code = OK;
    try (in) {
      int number = 0;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        number++;
        if (line.isBlank() || line.trim().startsWith("#")) {
          continue;
        }
        if (!send(dpu, number, line)) {
          code = REQUEST_FAILED;
        }
      }
    }
    return code;
  }

  /** Sends one request line; false when it was invalid or answered with an error. */
  private boolean send(DpuEndpoint dpu, int number, String line) throws Exception {
    JsonNode request;
    try {
      request = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      emit(Map.of("event", "error", "line", number, "message", "not JSON: " + e.getOriginalMessage()));
      return false;
    }
    String method = request.path("method").asText("");
    if (method.isEmpty()) {
      emit(Map.of("event", "error", "line", number, "message", "no \"method\"; write e.g. {\"method\":\"vm.list\"}"));
      return false;
    }
    String host = request.hasNonNull("host") ? request.get("host").asText() : waitForHost();
    @SuppressWarnings("unchecked")
    Map<String, Object> params = request.has("params") ? JSON.convertValue(request.get("params"), Map.class) : Map.of();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("line", number);
    out.put("host", host);
    out.put("method", method);
    try {
      Map<String, Object> result = await(dpu.request(host, method, params), Duration.ofSeconds(60));
      out.put("event", "result");
      out.put("result", result);
      emit(out);
      return true;
    } catch (RelayErrorException e) {
      out.put("event", "error");
      out.put("code", e.error().code().wireCode());
      out.put("message", e.error().message());
      out.put("data", e.error().data());
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      out.put("event", "error");
      out.put("message", message(e));
    }
    emit(out);
    return false;
  }

  private String waitForHost() throws InterruptedException, TimeoutException {
    if (!hostUp.await(waitForHostSeconds, TimeUnit.SECONDS)) {
      throw new TimeoutException("no host connected within " + waitForHostSeconds
          + " s; check the sidecar's relay address and certificates");
    }
    return lastHost;
  }

  private void waitForNotifications() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitForHostSeconds);
    while ((notifications.get() < expectNotifications || snapshotsAsked.get() > 0) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  private void hostEvent(DpuEndpoint dpu, HostLinkEvent e) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("event", e.up() ? "host-up" : "host-down");
    out.put("host", e.hostId());
    out.put("epoch", e.epoch());
    if (e.up()) {
      out.put("epochChanged", e.epochChanged());
    }
    if (e.cause() != null) {
      out.put("cause", e.cause().getMessage());
    }
    emit(out);
    if (e.up() && e.epochChanged()) {
      // A host this agent never saw, or one that restarted: what happened meanwhile comes from its snapshot.
      snapshot(dpu, e.hostId());
    }
    if (e.up()) {
      lastHost = e.hostId();
      hostUp.countDown();
    } else if (e.hostId().equals(lastHost)) {
      hostUp = new CountDownLatch(1);
    }
  }

  private void snapshot(DpuEndpoint dpu, String host) {
    snapshotsAsked.incrementAndGet();
    dpu.request(host, RelayMethods.STATE_SNAPSHOT, Map.of()).onComplete(ar -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("event", ar.succeeded() ? "snapshot" : "error");
      out.put("host", host);
      out.put("method", RelayMethods.STATE_SNAPSHOT);
      if (ar.succeeded()) {
        out.put("result", ar.result());
      } else {
        out.put("message", message(ar.cause()));
      }
      emit(out);
      snapshotsAsked.decrementAndGet();
    });
  }

  private void notification(ReceivedNotification n) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("event", "notification");
    out.put("host", n.hostId());
    out.put("seq", n.seq());
    out.put("method", n.method());
    out.put("params", n.params());
    emit(out);
    notifications.incrementAndGet();
  }

  private void emit(Map<String, Object> line) {
    String text;
    try {
      text = JSON.writeValueAsString(line);
    } catch (JsonProcessingException e) {
      text = "{\"event\":\"error\",\"message\":\"could not write a log line as JSON\"}";
    }
    synchronized (outLock) {
      PrintWriter out = spec.commandLine().getOut();
      out.println(text);
      out.flush();
    }
  }

  private static <T> T await(Future<T> future, Duration timeout) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  private static String message(Throwable e) {
    Throwable t = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
