package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The DPU attaches a mediated device ({@code device.attach} with {@code mdev}) through the whole
 * sidecar with the shipped {@code dpu} preset, on a real QEMU (qtest mode) with a reserved root
 * port. The host's mdevs live in a generated sysfs tree, so QEMU refuses the {@code device_add}
 * (there is no such device on this machine); what the test holds is everything before that: the
 * params, the policy's decision on the mdev's type (the configuration's {@code hotplug.mdevTypes}),
 * the id the host chooses and the properties QEMU is given. {@code MdevAttachLabIT} attaches a real
 * mtty mdev.
 */
class DpuMdevAttachIT {
  private static final String LISTED = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";
  private static final String UNLISTED = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();

  private static RelayError error(Throwable e) {
    assertThat(e).isInstanceOf(RelayErrorException.class);
    return ((RelayErrorException) e).error();
  }

  @QemuTest
  void theDpuAttachesAnMdevOfAListedTypeOnlyAndQemuGetsItsSysfsdev(QemuBinary binary) throws Exception {
    DpuEndpoint dpu = result(DpuEndpoint.listen(harness.vertx(), DpuEndpointOptions.defaults().withPort(0)));
    harness.track(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    SysfsTree host = new SysfsTree(harness.dir().resolve("host"));
    host.mdev(LISTED, "devices/virtual/mtty/mtty", "mtty-1", 13).devNode(13);
    host.mdev(UNLISTED, "devices/virtual/mtty/mtty", "mtty-2", 14).devNode(14);
    TestConfig config = harness.config()
        .vm("vm1", harness.qemu(binary, "vm1", 0, "-device", "pcie-root-port,id=dpu-rp0,bus=pcie.0,chassis=1,slot=1"))
        .preset("dpu").set("hotplug.mdevTypes", "mtty-1").hostRoots(host.sys(), host.dev())
        .relay("ws://127.0.0.1:" + dpu.actualPort(), "host-1");
    harness.startReady(config);
    Await.until("the DPU link is up", () -> dpu.connectedHosts().contains("host-1"));

    Map<String, Object> accepted = result(dpu.request("host-1", "device.attach",
        Map.of("opId", "m-1", "vm", "vm1", "mdev", LISTED.toUpperCase())));
    Await.until("op.failed of m-1", () -> received.stream()
        .anyMatch(n -> n.method().equals("op.failed") && "m-1".equals(n.params().get("opId"))));
    ReceivedNotification failed = received.stream()
        .filter(n -> n.method().equals("op.failed") && "m-1".equals(n.params().get("opId"))).findFirst().orElseThrow();
    RelayError unlisted = error(failure(dpu.request("host-1", "device.attach",
        Map.of("opId", "m-2", "vm", "vm1", "mdev", UNLISTED))));
    RelayError both = error(failure(dpu.request("host-1", "device.attach",
        Map.of("opId", "m-3", "vm", "vm1", "mdev", LISTED, "bdf", "0000:03:00.1"))));
    RelayError malformed = error(failure(dpu.request("host-1", "device.attach",
        Map.of("opId", "m-4", "vm", "vm1", "mdev", "mtty-1"))));
    RelayError neither = error(failure(dpu.request("host-1", "device.attach", Map.of("opId", "m-5", "vm", "vm1"))));

    assertThat(accepted).containsEntry("deviceId", "dpu-" + LISTED);
    assertThat(failed.params().get("error").toString()).contains("code=" + ErrorCode.QEMU_ERROR.wireCode())
        .contains("vfio /sys/bus/mdev/devices/" + LISTED + ": no such host device");
    assertThat(unlisted.code()).isEqualTo(ErrorCode.POLICY_DENIED);
    assertThat(unlisted.message()).contains("mdev " + UNLISTED + " has type mtty-2, not one of [mtty-1]");
    assertThat(both.code()).isEqualTo(ErrorCode.INVALID_PARAMS);
    assertThat(both.data()).containsEntry("member", "mdev");
    assertThat(malformed.data()).containsEntry("member", "mdev");
    assertThat(malformed.message()).startsWith("parameter \"mdev\" must be a mediated device's UUID");
    assertThat(neither.data()).containsEntry("member", "bdf");
    assertThat(neither.message()).startsWith("parameter \"bdf\" is missing: give a PCI function's \"bdf\" or a"
        + " mediated device's \"mdev\"");
  }
}
