package io.qmpsidecar.sidecar.relay;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A DPU operation cut short by a stop of the sidecar ends after the next start, reconciled with
 * QEMU (docs/relay-protocol.md, "Operations cut short by a sidecar restart"): the host resumes its
 * unfinished operations as it starts, before the sidecar has connected to its VMs, so the
 * reconciliation has to wait for the VM rather than give up on it. The attach is of a mediated
 * device from a generated sysfs tree (nothing is rebound on the host), stopped while it waits for
 * QEMU (SIGSTOP) before anything was added, so its end is "did not take effect".
 */
class RelayResumeIT {
  private static final String MDEV = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();

  @QemuTest
  void anAttachCutShortByAStopEndsAfterTheNextStartReconciledWithQemu(QemuBinary binary) throws Exception {
    DpuEndpoint dpu = result(DpuEndpoint.listen(harness.vertx(), DpuEndpointOptions.defaults().withPort(0)));
    harness.track(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    SysfsTree host = new SysfsTree(harness.dir().resolve("host"));
    host.mdev(MDEV, "devices/virtual/mtty/mtty", "mtty-1", 13).devNode(13);
    QemuProcess vm1 = harness.qemu(binary, "vm1", 0, "-device", "pcie-root-port,id=dpu-rp0,bus=pcie.0,chassis=1,slot=1");
    TestConfig config = harness.config().vm("vm1", vm1).preset("dpu").set("hotplug.mdevTypes", "mtty-1")
        .hostRoots(host.sys(), host.dev()).relay("ws://127.0.0.1:" + dpu.actualPort(), "host-1");
    Sidecar first = harness.startReady(config);
    Await.until("the DPU link is up", () -> dpu.connectedHosts().contains("host-1"));

    List<String> requested = new CopyOnWriteArrayList<>();
    first.events().subscribe(e -> e.type().equals(EventTypes.ATTACH_REQUESTED), 16, e -> requested.add(e.opId()));
    vm1.suspend();
    dpu.request("host-1", "device.attach", Map.of("opId", "m-1", "vm", "vm1", "mdev", MDEV));
    Await.until("the attach runs, waiting on the stopped QEMU", () -> requested.contains("m-1"));
    first.stop();
    vm1.resume();
    assertThat(ends()).as("no end before the restart: %s", received).isEmpty();
    harness.startReady(config);

    Await.until("the end of m-1", () -> !ends().isEmpty());
    ReceivedNotification end = ends().get(0);
    assertThat(end.method()).isEqualTo("op.failed");
    assertThat(end.params().get("error").toString()).contains("code=" + ErrorCode.OP_INTERRUPTED.wireCode())
        .contains("attach m-1 was cut short and dpu-" + MDEV + " is not attached")
        .doesNotContain("could not reconcile");
  }

  private List<ReceivedNotification> ends() {
    return received.stream().filter(n -> (n.method().equals("op.completed") || n.method().equals("op.failed"))
        && "m-1".equals(n.params().get("opId"))).toList();
  }
}
