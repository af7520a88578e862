package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

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
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void aReloadAppliesThePolicyAndNewVmsTogetherOrNothing(QemuBinary binary) throws Exception {
    QemuProcess vm1 = harness.qemu(binary, "vm1", 1);
    QemuProcess vm2 = harness.qemu(binary, "vm2", 1);
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), STOP_DENIED);
    TestConfig config = harness.config().vm("vm1", vm1).policyFile(policy);
    Sidecar sidecar = harness.startReady(config);
    ApiTestClient api = harness.api(config);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(403);

    // SIGHUP reads and checks the configuration, policy included, once: a broken policy is refused
    // there and nothing applies; a configuration read before its policy file broke applies the
    // policy that was checked, never the file as it is now.
    SidecarConfig read = config.vm("vm2", vm2).build();
    Files.writeString(policy, "version: 1\nrules: [ {id: broken");
    assertThatThrownBy(config::build).isInstanceOfSatisfying(SidecarException.class,
        e -> assertThat(e.getMessage()).contains("policy.file: " + policy + ":2:"));
    assertThat(api.call(HttpMethod.GET, "/v1/vms", null).body()).as("nothing applied").hasSize(1);
    assertThat(sidecar.reload(read)).isEmpty();
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status())
        .as("the policy that was checked: stop denied").isEqualTo(403);

    Files.writeString(policy, STOP_ALLOWED);
    List<String> restart = sidecar.reload(config.attachTimeout(Duration.ofSeconds(90)).build());
    assertThat(restart).containsExactly("timeouts");
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(200);
    Await.until("vm2 is connected", () -> api.call(HttpMethod.GET, "/v1/vms/vm2", null).status() == 200);

    List<String> removal = sidecar.reload(harness.config().vm("vm2", vm2).policyFile(policy)
        .attachTimeout(Duration.ofSeconds(90)).build());
    assertThat(removal).as("timeouts still differ from the start's").containsExactly("timeouts",
        "vms (removed vm1: served until the next start)");
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1", null).status()).as("vm1 is still served").isEqualTo(200);
  }

  /**
   * A key that takes effect at the next start keeps its start value until then, for VMs a reload
   * adds too, and each reload names it while it differs from that value; a VM a reload added and a
   * later one dropped is named as served until the next start.
   */
  @QemuTest
  void keysForTheNextStartKeepTheirStartValueAndStayNamedUntilThen(QemuBinary binary) throws Exception {
    QemuProcess vm1 = harness.qemu(binary, "vm1", 1);
    QemuProcess vm2 = harness.qemu(binary, "vm2", 1);
    TestConfig config = harness.config().vm("vm1", vm1).set("proxy.maxClients", "1");
    Sidecar sidecar = harness.startReady(config);

    SidecarConfig more = config.vm("vm2", vm2).set("proxy.maxClients", "4").build();
    assertThat(sidecar.reload(more)).containsExactly("proxy");
    assertThat(sidecar.reload(more)).as("still not applied").containsExactly("proxy");
    Path socket = config.proxyDir().resolve("vm2.qmp");
    Await.until("vm2's proxy socket", () -> Files.exists(socket));
    try (SocketChannel first = SocketChannel.open(StandardProtocolFamily.UNIX);
        SocketChannel second = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      first.connect(UnixDomainSocketAddress.of(socket));
      assertThat(reader(first).readLine()).as("the first client is greeted").contains("\"QMP\"");
      second.connect(UnixDomainSocketAddress.of(socket));
      assertThat(reader(second).readLine()).as("the start's maxClients")
          .contains("too many clients (1 connected, the limit)");
    }

    Logger log = (Logger) LoggerFactory.getLogger(Sidecar.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    log.addAppender(lines);
    harness.track(() -> log.detachAppender(lines));
    assertThat(sidecar.reload(harness.config().vm("vm1", vm1).set("proxy.maxClients", "1").build()))
        .containsExactly("vms (removed vm2: served until the next start)");
    synchronized (lines) {
      assertThat(lines.list).as("a change not applied is logged at WARN, the daemon's default level")
          .anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).contains("these keys changed and take effect at the next start: "
                + "[vms (removed vm2: served until the next start)]");
          });
    }
  }

  private static BufferedReader reader(SocketChannel channel) {
    return new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
  }

  @Test
  void aReloadThatFindsOtherTokensReportsApiAndTheTokensReadAtStartStayInForce() throws Exception {
    String first = "0123456789abcdef0123456789abcdef";
    String second = "fedcba9876543210fedcba9876543210";
    Path tokens = Files.writeString(harness.dir().resolve("tokens"), "ci:" + first + "\n");
    TestConfig config = harness.config().apiTcp("127.0.0.1:0", tokens);
    Sidecar sidecar = harness.startReady(config);
    ApiTestClient api = harness.api(config);
    RequestOptions vms = new RequestOptions().setHost("127.0.0.1").setPort(sidecar.api().tcpPort()).setURI("/v1/vms");

    assertThat(sidecar.reload(config.build())).as("the same tokens").isEmpty();
    Files.writeString(tokens, "ci:" + second + "\n");
    assertThat(sidecar.reload(config.build())).containsExactly("api");

    assertThat(api.call(new RequestOptions(vms).putHeader("authorization", "Bearer " + first), null).status())
        .as("the tokens read at start until the next start").isEqualTo(200);
    assertThat(api.call(new RequestOptions(vms).putHeader("authorization", "Bearer " + second), null).status())
        .isEqualTo(401);
  }
}
