package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * logrotate's way with the audit file, on the daemon bin/qmp-sidecar starts: the file is moved
 * away, the daemon gets SIGHUP, and the records that follow go to a new file of the configured
 * name (mode 640) while the moved one keeps those before.
 */
class AuditFileRotationIT {
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POLICY = """
      version: 1
      name: rotation
      rules:
        - {id: local, effect: allow, callers: ["api:local"], commands: ["*"], reason: the test}
      default: {effect: deny, reason: not the test}
      """;

  private static List<JsonNode> records(Path file) {
    try {
      return Files.readAllLines(file).stream().map(l -> {
        try {
          return JSON.readTree(l);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void afterTheFileIsMovedSighupStartsANewOne(@TempDir Path dir) throws Exception {
    Path audit = dir.resolve("audit.log");
    Path rotated = dir.resolve("audit.log.1");
    Path socket = dir.resolve("api.sock");
    Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
    Process daemon = new ProcessBuilder(LAUNCHER.toString(), "run", "--set", "api.socket=" + socket,
        "--set", "stateDir=" + dir.resolve("state"), "--set", "proxy.dir=" + dir.resolve("proxy"),
        "--set", "policy.file=" + policy, "--set", "log.auditFile=" + audit)
        .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
    Vertx vertx = Vertx.vertx();
    try {
      Await.until("the daemon's API socket", () -> Files.exists(socket));
      ApiTestClient api = new ApiTestClient(vertx, socket);
      assertThat(api.call(HttpMethod.GET, "/v1/vms", null).status()).isEqualTo(200);
      Await.until("the first record", () -> !records(audit).isEmpty());

      Files.move(audit, rotated);
      Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(daemon.pid())).inheritIO().start();
      assertThat(hup.waitFor(10, TimeUnit.SECONDS) && hup.exitValue() == 0).as("kill -HUP").isTrue();
      Await.until("the new audit file", () -> Files.exists(audit));
      assertThat(api.call(HttpMethod.GET, "/v1/vms", null).status()).isEqualTo(200);
      Await.until("a record in the new file", () -> !records(audit).isEmpty());

      assertThat(records(rotated)).extracting(r -> r.path("kv").path("command").asText()).containsExactly("query-status");
      assertThat(records(audit)).as("only the records after SIGHUP").hasSize(1).first()
          .satisfies(r -> assertThat(r.path("kv").path("caller").asText()).isEqualTo("api:local"));
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(audit))).isEqualTo("rw-r-----");
      assertThat(Files.readString(dir.resolve("daemon.log"))).doesNotContain("ERROR");
    } finally {
      daemon.destroy();
      assertThat(daemon.waitFor(30, TimeUnit.SECONDS)).as("the daemon stops on SIGTERM").isTrue();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
