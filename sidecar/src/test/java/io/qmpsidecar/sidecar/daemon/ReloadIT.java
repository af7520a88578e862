package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** What SIGHUP does: a re-read configuration and its policy apply together, or not at all. */
class ReloadIT {
  private static final String STOP_DENIED = """
      version: 1
      name: v1
      rules:
        - {id: no-stop, effect: deny, callers: ["*"], commands: [stop], reason: stop is not allowed in v1}
        - {id: rest, effect: allow, callers: ["*"], commands: ["*"], reason: everything else}
      """;
  private static final String STOP_ALLOWED = """
      version: 1
      name: v2
      rules:
        - {id: all, effect: allow, callers: ["*"], commands: ["*"], reason: everything in v2}
      """;
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  private SidecarConfig config(Path policy, String... vms) {
    return ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"), "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy), List.of(vms));
  }

  @QemuTest
  void aReloadAppliesThePolicyAndNewVmsTogetherOrNothing(QemuBinary binary) throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(binary, dir, "vm1", 1);
    cleanup.add(vm1);
    QemuProcess vm2 = QemuProcess.startQtest(binary, dir, "vm2", 1);
    cleanup.add(vm2);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), STOP_DENIED);
    Sidecar sidecar = new Sidecar(config(policy, "vm1=" + vm1.qmpAddress()));
    sidecar.start(Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    ApiTestClient api = new ApiTestClient(vertx, dir.resolve("api.sock"));
    Await.until("vm1 is ready", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(403);

    Files.writeString(policy, "version: 1\nrules: [ {id: broken");
    SidecarConfig broken = config(policy, "vm1=" + vm1.qmpAddress(), "vm2=" + vm2.qmpAddress());
    assertThatThrownBy(() -> sidecar.reload(broken)).isInstanceOf(PolicyLoadException.class);
    assertThat(api.call(HttpMethod.GET, "/v1/vms", null).body()).as("nothing applied").hasSize(1);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(403);

    Files.writeString(policy, STOP_ALLOWED);
    List<String> restart = sidecar.reload(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy,
        "timeouts.attach=90s"), List.of("vm1=" + vm1.qmpAddress(), "vm2=" + vm2.qmpAddress())));
    assertThat(restart).containsExactly("timeouts");
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(200);
    Await.until("vm2 is connected", () -> api.call(HttpMethod.GET, "/v1/vms/vm2", null).status() == 200);
  }
}
