package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.VmInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DpuAgentCommandTest {

  /** A sidecar stand-in: one VM, attaches accepted, detaches denied by its policy. */
  private static final class Sidecar implements RequestExecutor {
    @Override
    public Future<OpAccepted> attach(DeviceAttachParams r) {
      return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
    }

    @Override
    public Future<OpAccepted> detach(DeviceDetachParams r) {
      return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
    }

    @Override
    public Future<List<DeviceInfo>> listDevices(String vm) {
      return Future.succeededFuture(List.of());
    }

    @Override
    public Future<List<VmInfo>> listVms() {
      return Future.succeededFuture(List.of(new VmInfo("vm1", "running", VmInfo.CONNECTED)));
    }

    @Override
    public Future<StateSnapshot> snapshot() {
      return listVms().map(vms -> new StateSnapshot(vms, List.of()));
    }

    /** Keeps nothing across restarts: an operation cut short ends as interrupted. */
    @Override
    public Future<OpEnd> resume(UnfinishedOp op) {
      return Future.succeededFuture(OpEnd.failed(RelayError.of(ErrorCode.OP_INTERRUPTED, op.opId() + " was cut short")));
    }
  }

  @TempDir Path dir;
  final Vertx vertx = Vertx.vertx();
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();
  RelayHost host;

  @AfterEach
  void close() throws Exception {
    if (host != null) {
      host.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private List<JsonNode> lines() throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> parsed = new ArrayList<>();
    for (String line : out.toString().split("\n")) {
      if (!line.isBlank()) {
        parsed.add(json.readTree(line));
      }
    }
    return parsed;
  }

  @Test
  void sendsScriptedRequestsAndLogsNotificationsAsJsonLines() throws Exception {
    int port = freePort();
    host = RelayHost.start(vertx, RelayHostOptions.of("127.0.0.1", port, "host-a", dir.resolve("relay.db"))
            .withReconnectInitialDelay(Duration.ofMillis(50)).withReconnectMaxDelay(Duration.ofMillis(200)),
        new Sidecar(), (caller, method, params) -> method.equals("device.detach")
            ? AuthorizationDecision.deny("no-detach", "caller " + caller + " may not detach")
            : AuthorizationDecision.allow("ok"))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    host.notify(Notification.vmLifecycle("vm1", "RESUME"));
    Path script = dir.resolve("requests.jsonl");
    Files.writeString(script, String.join("\n",
        "# a comment",
        "{\"method\":\"vm.list\"}",
        "{\"method\":\"device.detach\",\"params\":{\"opId\":\"d1\",\"vm\":\"vm1\",\"deviceId\":\"dpu-a\"}}",
        ""));

    int code = run("dpu-agent", "--listen", "127.0.0.1:" + port, "--plain", "--script", script.toString(),
        "--exit-when-done", "--expect-notifications", "1", "--wait-for-host", "20");

    List<JsonNode> lines = lines();
    assertThat(code).as(err.toString()).isEqualTo(DpuAgentCommand.REQUEST_FAILED);
    assertThat(lines.get(0).get("event").asText()).isEqualTo("listening");
    assertThat(lines).anySatisfy(l -> {
      assertThat(l.get("event").asText()).isEqualTo("result");
      assertThat(l.get("line").asInt()).isEqualTo(2);
      assertThat(l.at("/result/vms/0/name").asText()).isEqualTo("vm1");
    });
    assertThat(lines).anySatisfy(l -> {
      assertThat(l.get("event").asText()).isEqualTo("error");
      assertThat(l.get("code").asInt()).isEqualTo(-32001);
      assertThat(l.at("/data/rule").asText()).isEqualTo("no-detach");
    });
    assertThat(lines).anySatisfy(l -> {
      assertThat(l.get("event").asText()).isEqualTo("notification");
      assertThat(l.get("seq").asLong()).isEqualTo(1);
      assertThat(l.get("method").asText()).isEqualTo("vm.lifecycle");
      assertThat(l.at("/params/event").asText()).isEqualTo("RESUME");
    });
    assertThat(lines).anySatisfy(l -> {
      assertThat(l.get("event").asText()).isEqualTo("host-up");
      assertThat(l.get("epochChanged").asBoolean()).as("a host this agent never saw").isTrue();
    });
    assertThat(lines).as("a new epoch: the agent asks the host's state (docs/relay-protocol.md, Epoch)").anySatisfy(l -> {
      assertThat(l.get("event").asText()).isEqualTo("snapshot");
      assertThat(l.get("host").asText()).isEqualTo("host-a");
      assertThat(l.at("/result/vms/0/name").asText()).isEqualTo("vm1");
    });
  }

  @Test
  void missingTransportChoiceIsAUsageError() {
    int code = run("dpu-agent", "--listen", "127.0.0.1:7443");

    assertThat(code).isEqualTo(DpuAgentCommand.USAGE);
    assertThat(err.toString()).contains("give --cert, --key and --ca for mutual TLS, or --plain");
  }

  @Test
  void badListenAddressIsAUsageError() {
    int code = run("dpu-agent", "--listen", "7443", "--plain");

    assertThat(code).isEqualTo(DpuAgentCommand.USAGE);
    assertThat(err.toString()).contains("is not HOST:PORT");
  }

  @Test
  void plainOffLoopbackIsRefused() {
    int code = run("dpu-agent", "--listen", "0.0.0.0:7443", "--plain", "--exit-when-done");

    assertThat(code).isEqualTo(DpuAgentCommand.FAILURE);
    assertThat(err.toString()).contains("not a loopback address");
  }

  @Test
  void noHostInTimeIsAFailureWithAHint() throws Exception {
    Path script = dir.resolve("one.jsonl");
    Files.writeString(script, "{\"method\":\"vm.list\"}\n");

    int code = run("dpu-agent", "--listen", "127.0.0.1:0", "--plain", "--script", script.toString(),
        "--exit-when-done", "--wait-for-host", "1");

    assertThat(code).isEqualTo(DpuAgentCommand.FAILURE);
    assertThat(err.toString()).contains("no host connected within 1 s");
  }
}
