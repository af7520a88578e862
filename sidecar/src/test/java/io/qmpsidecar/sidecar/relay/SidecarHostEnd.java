package io.qmpsidecar.sidecar.relay;

import static io.qmpsidecar.qmp.testing.Await.result;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.relay.conformance.HostEndFixture;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The whole sidecar as the relay's host end, with a real QEMU (qtest mode) behind it, for the
 * conformance suite. The host's functions live in a sysfs tree of the test's own: one function
 * already bound to vfio-pci whose {@code device_add} QEMU refuses (it is not on this machine),
 * and none whose attach succeeds (that takes the VFIO lab). A crash is a stop of the sidecar: it
 * keeps the state and relay stores, and what ran stops with it (the kill -9 of a real process is
 * SidecarKillFaultIT's).
 */
final class SidecarHostEnd implements HostEndFixture {
  static final String HOST_ID = "host-1";
  private static final String VM = "vm1";
  /** In the test's sysfs tree, bound to vfio-pci, with its /dev/vfio node: prepared at once. */
  private static final String FUNCTION = "0000:03:00.1";
  private static final String FOREIGN = "dpu-operator0";
  private static final String POLICY = """
      version: 1
      name: conformance
      rules:
        - {id: local, effect: allow, callers: ["api:local"], commands: ["*"], reason: the test's scripts}
        - {id: dpu-read, effect: allow, callers: [dpu], commands: ["query-*"], reason: the DPU may read}
        - id: dpu-attach
          effect: allow
          callers: [dpu]
          commands: [device_add]
          via: [attach]
          arguments:
            driver: {equals: vfio-pci, required: true}
            id: {prefix: dpu-, required: true}
            bus: {pattern: 'rp[0-9]', required: true}
            host: {pattern: '0000:03:00\\.[0-7]', required: true}
          reason: the DPU may attach its functions
        - id: dpu-detach-own
          effect: allow
          callers: [dpu]
          commands: [device_del]
          arguments:
            id: {fact: attached-by-caller, required: true}
          reason: the DPU may detach what it attached
      default: {effect: deny, reason: not in the conformance policy}
      %s
      """;

  private final Path dir;
  private final QemuProcess qemu;
  private final SysfsTree host;
  private final Vertx clients = Vertx.vertx();
  private Sidecar sidecar;
  /** The API of the sidecar that runs. */
  private ApiTestClient api;
  private boolean stopped;
  private String rateLimits = "";
  /** Abilities asked for before the sidecar runs, applied when it starts. */
  private boolean foreignWanted;
  private boolean throttleWanted;

  SidecarHostEnd(Path dir, QemuBinary binary) {
    this.dir = dir;
    this.qemu = QemuProcess.startQtest(binary, dir, VM, 2);
    this.host = new SysfsTree(dir.resolve("host")).device(FUNCTION, "15b3", "101e", 14, "vfio-pci").devNode(14);
  }

  @Override
  public void start(Settings s) {
    TestConfig config = new TestConfig(dir).vm(VM, qemu).policyFile(policy())
        .relay(s.dpuUrl().toString(), HOST_ID).hostRoots(host.sys(), host.dev())
        .set("relay.maxMessageBytes", String.valueOf(s.maxMessageBytes()))
        .set("relay.heartbeatInterval", s.heartbeatInterval().toMillis() + "ms")
        .set("relay.heartbeatTimeout", s.heartbeatTimeout().toMillis() + "ms")
        .set("relay.maxInFlightRequests", String.valueOf(s.maxInFlightRequests()))
        .set("relay.syncEveryCommit", "false")
        .set("relay.reconnectInitialDelay", "50ms")
        .set("relay.reconnectMaxDelay", "400ms");
    try {
      sidecar = Sidecar.start(config.build(), Duration.ofSeconds(20));
    } catch (Exception e) {
      throw new IllegalStateException("the sidecar did not start: " + e.getMessage(), e);
    }
    api = new ApiTestClient(clients, config.apiSocket());
    Await.until("VM " + VM + " is connected", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200);
    if (foreignWanted) {
      foreignWanted = false;
      ApiTestClient.Reply reply = api.call(HttpMethod.POST, "/v1/vms/" + VM + "/devices",
          "{\"driver\":\"e1000e\",\"id\":\"" + FOREIGN + "\"}");
      if (reply.status() != 201) {
        throw new IllegalStateException("the operator's attach failed: " + reply.body());
      }
    }
    if (throttleWanted) {
      throttleWanted = false;
      sidecar.operations().decide(PolicyRequest.of(Caller.dpu(), "query-status", JsonNodeFactory.instance.objectNode()));
    }
  }

  private Path policy() {
    try {
      return Files.writeString(dir.resolve("policy.yaml"), POLICY.formatted(rateLimits));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void crash() {
    sidecar.stop();
  }

  @Override
  public String hostId() {
    return HOST_ID;
  }

  @Override
  public String vm() {
    return VM;
  }

  /** Stops and continues the VM: each is a QEMU event the DPU hears as {@code vm.lifecycle}. */
  @Override
  public void emitNotifications(int count) {
    for (int i = 0; i < count; i++) {
      String command = stopped ? "cont" : "stop";
      stopped = !stopped;
      ApiTestClient.Reply reply = api.call(HttpMethod.POST, "/v1/vms/" + VM + "/qmp",
          "{\"execute\":\"" + command + "\"}");
      if (reply.status() != 200) {
        throw new IllegalStateException(command + " failed: " + reply.body());
      }
    }
  }

  @Override
  public String unpreparableBdf() {
    return "0000:03:00.7";
  }

  @Override
  public String bdfQemuRefuses() {
    return FUNCTION;
  }

  /**
   * An emulated NIC the test's scripts attach through the API when the sidecar starts: recorded,
   * not the DPU's.
   */
  @Override
  public String foreignDevice() {
    foreignWanted = true;
    return FOREIGN;
  }

  /** From the start: a rate limit of one request per {@code retryAfter}, whose one token is spent at once. */
  @Override
  public void throttleDpu(Duration retryAfter) {
    rateLimits = "rate-limits:\n  - {id: dpu-rate, callers: [dpu], burst: 1, per-second: "
        + 1000.0 / retryAfter.toMillis() + "}";
    throttleWanted = true;
  }

  @Override
  public void close() {
    if (sidecar != null) {
      sidecar.stop();
    }
    qemu.close();
    result(clients.close());
  }
}
