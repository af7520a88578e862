package io.qmpsidecar.sidecar.cli;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vms} and the API client's error handling against an in-process HTTP server on a Unix
 * socket that answers what each test scripts: problem+json bodies become one line and an exit code.
 */
class VmsCommandTest {
  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private final List<String> requests = new ArrayList<>();
  private Vertx vertx;
  private HttpServer server;
  private int status;
  private String contentType;
  private String body;
  private long delayMs;

  @BeforeEach
  void startServer() {
    vertx = Vertx.vertx();
    server = result(vertx.createHttpServer().requestHandler(req -> {
      requests.add(req.method() + " " + req.uri() + " host=" + req.authority().host()
          + " auth=" + req.getHeader("authorization"));
      if (delayMs > 0) {
        vertx.setTimer(delayMs, t -> req.response().setStatusCode(status).putHeader("content-type", contentType)
            .end(body));
      } else {
        req.response().setStatusCode(status).putHeader("content-type", contentType).end(body);
      }
    }).listen(SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString())));
  }

  @AfterEach
  void stopServer() {
    result(vertx.close());
  }

  private void answer(int status, String contentType, String body) {
    this.status = status;
    this.contentType = contentType;
    this.body = body;
  }

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--api=unix:" + dir.resolve("api.sock"));
    return cli.execute(all.toArray(new String[0]));
  }

  @Test
  void printsTheVmsAsATableOrJson() {
    answer(200, "application/json", "[{\"name\":\"vm1\",\"qmp\":\"unix:/run/qemu/vm1.qmp\",\"state\":\"ready\","
        + "\"qemu\":\"10.0.0\"},{\"name\":\"vm2\",\"qmp\":\"unix:/run/qemu/vm2.qmp\",\"state\":\"connecting\","
        + "\"error\":\"connection refused\"}]");
    assertThat(run("vms")).isEqualTo(0);
    assertThat(out.toString().lines()).containsExactly(
        "name  qmp                     state       qemu    error",
        "vm1   unix:/run/qemu/vm1.qmp  ready       10.0.0",
        "vm2   unix:/run/qemu/vm2.qmp  connecting          connection refused");
    assertThat(requests).containsExactly("GET /v1/vms host=localhost auth=null");

    out.getBuffer().setLength(0);
    assertThat(run("vms", "--output", "json")).isEqualTo(0);
    assertThat(out.toString()).contains("\"name\" : \"vm2\"", "\"error\" : \"connection refused\"");
    assertThat(err.toString()).isEmpty();
  }

  /** A detach answers when the daemon's own wait ends (timeouts.detach, 30 s by default): the CLI outlasts it. */
  @Test
  void aDetachWaitsLongerThanTheDefaultTimeoutForTheDaemonsAnswer() {
    answer(200, "application/json", "{\"outcome\":\"DETACHED\",\"detail\":\"the guest released nic1\"}");
    delayMs = 11_000;
    assertThat(run("devices", "detach", "vm1", "nic1")).as(err.toString()).isEqualTo(0);
    assertThat(out.toString()).contains("DETACHED: the guest released nic1");

    out.getBuffer().setLength(0);
    assertThat(run("devices", "detach", "vm1", "nic1", "--timeout", "1")).isEqualTo(4);
    assertThat(err.toString()).contains("did not answer within 1 s");
  }

  /** The environment is read once per process: the CLI runs as a process of its own here. */
  @Test
  void qmpSidecarApiSetsTheDefaultApi() throws Exception {
    answer(200, "application/json", "[{\"name\":\"vm7\",\"qmp\":\"unix:/run/qemu/vm7.qmp\",\"state\":\"ready\"}]");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), QmpSidecarCommand.class.getName(), "vms")
        .redirectErrorStream(true);
    pb.environment().put("QMP_SIDECAR_API", "unix:" + dir.resolve("api.sock"));
    Process p = pb.start();
    String printed = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(printed).isEqualTo(0);
    assertThat(printed).contains("vm7", "unix:/run/qemu/vm7.qmp");
    assertThat(requests).containsExactly("GET /v1/vms host=localhost auth=null");
  }

  @Test
  void aPolicyDenialIsOneLineWithTheRuleAndExitsThree() {
    answer(403, "application/problem+json", "{\"type\":\"urn:qmp-sidecar:problem:policy-denied\",\"title\":"
        + "\"Denied by policy\",\"status\":403,\"detail\":\"api:local may not attach 0000:03:00.2\",\"rule\":\"deny-other-vfio\"}");
    assertThat(run("devices", "attach", "vm1", "--bdf", "0000:03:00.2")).isEqualTo(3);
    assertThat(err.toString().lines()).containsExactly(
        "Denied by policy: api:local may not attach 0000:03:00.2 (rule deny-other-vfio)");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void aQemuErrorKeepsQemusClassAndTextAndExitsOne() {
    answer(422, "application/problem+json", "{\"title\":\"QEMU refused the command\",\"status\":422,"
        + "\"detail\":\"device_add failed\",\"qemu\":{\"class\":\"GenericError\",\"desc\":\"Bus 'rp1' is full\"},"
        + "\"rolledBack\":[\"host driver\"]}");
    assertThat(run("devices", "attach", "vm1", "--driver", "e1000e", "--id", "nic1")).isEqualTo(1);
    assertThat(err.toString().lines()).containsExactly("QEMU refused the command: device_add failed"
        + " (QEMU GenericError: Bus 'rp1' is full); rolled back: host driver");
  }

  @Test
  void aHostPrerequisiteCarriesItsFix() {
    answer(412, "application/problem+json", "{\"title\":\"The host function is not ready\",\"status\":412,"
        + "\"detail\":\"0000:7f:00.1 does not exist\",\"bdf\":\"0000:7f:00.1\",\"fix\":\"check lspci\"}");
    assertThat(run("devices", "attach", "vm1", "--bdf", "0000:7f:00.1")).isEqualTo(1);
    assertThat(err.toString().strip()).isEqualTo(
        "The host function is not ready: 0000:7f:00.1 does not exist; fix: check lspci");
  }

  @Test
  void anUnavailableVmExitsFourAndABadRequestTwo() {
    answer(503, "application/problem+json", "{\"title\":\"VM not connected\",\"status\":503,\"detail\":\"vm1 is connecting\"}");
    assertThat(run("devices", "list", "vm1")).isEqualTo(4);
    assertThat(err.toString().strip()).isEqualTo("VM not connected: vm1 is connecting");

    err.getBuffer().setLength(0);
    answer(400, "application/problem+json", "{\"title\":\"Bad request\",\"status\":400,\"detail\":\"bad BDF 'x'\"}");
    assertThat(run("devices", "attach", "vm1", "--bdf", "x")).isEqualTo(2);
    assertThat(err.toString().strip()).isEqualTo("Bad request: bad BDF 'x'");
  }

  @Test
  void aTokenFileSendsABearerToken() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "# for the CLI\n0123456789abcdef0123\n");
    answer(200, "application/json", "[]");
    assertThat(run("vms", "--token-file", token.toString())).isEqualTo(0);
    assertThat(out.toString().strip()).isEqualTo("no VMs configured");
    assertThat(requests).containsExactly("GET /v1/vms host=localhost auth=Bearer 0123456789abcdef0123");
  }

  @Test
  void noSidecarOnTheSocketExitsFourAndSaysWhatToCheck() {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    Path missing = dir.resolve("nobody.sock");
    assertThat(cli.execute("vms", "--api", "unix:" + missing, "--timeout", "2")).isEqualTo(4);
    assertThat(err.toString()).startsWith("cannot reach the sidecar API at unix:" + missing + ": ")
        .contains("check that qmp-sidecar run is running and --api names its api.socket");
  }

  @Test
  void aWrongApiAddressIsAUsageError() {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    assertThat(cli.execute("vms", "--api", "run/qmp-sidecar/api.sock")).isEqualTo(2);
    assertThat(err.toString()).startsWith("--api run/qmp-sidecar/api.sock: expected unix:PATH or /PATH");
  }
}
