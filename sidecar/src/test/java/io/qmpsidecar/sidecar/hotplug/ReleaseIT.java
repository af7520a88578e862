package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.hotplug.HotplugFixture.VM;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.UnixFd;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.testing.ProcFds;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * "Released" only when QEMU has let go ({@link ReleaseGate}), against a real QEMU in qtest mode.
 * There is no VFIO on this host, so QEMU is made to hold the function's device nodes (the
 * generated tree's {@code /dev/vfio/12} and {@code /dev/vfio/devices/vfio3}) the one way a QEMU
 * holds a file it was given: passed over a second monitor with SCM_RIGHTS ({@code getfd}, through
 * a Vert.x with the native transport, which fd passing needs), and let go with {@code closefd}. The device in QEMU is an {@code edu} recorded as that VFIO function. The
 * gate reads QEMU's real {@code /proc/PID/fd}, found through the monitor socket QEMU listens on.
 */
class ReleaseIT {
  private static final String BDF = "0000:03:10.0";
  private static final String ID = "vf0";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();
  @RegisterExtension static final TestVertx NATIVE = TestVertx.nativeTransport();

  private HotplugFixture f;
  private QmpConnection holder;
  private Path group;
  private Path cdev;

  @AfterEach
  void closeHolder() {
    if (holder != null) {
      result(holder.close());
    }
  }

  /** A sidecar on {@code q} whose records say that {@code vf0} (an edu in QEMU) is VF 03:10.0, rebound from igbvf. */
  private void setUp(QemuBinary binary, Duration releaseWait) throws Exception {
    Path second = harness.dir().resolve("q-fds.qmp");
    QemuProcess q = harness.qemu(binary, "q", 1, "-qmp", "unix:" + second + ",server=on,wait=off");
    holder = result(QmpClient.create(NATIVE.get(), QmpClientOptions.of(QmpAddress.unix(second))).connect());
    f = new HotplugFixture(harness, HotplugFixture.fastOptions().withReleaseWait(releaseWait));
    f.tree.device(BDF, "8086", "10ca", 12, "vfio-pci").devNode(12).cdev(BDF, 3);
    f.kernel.defaultDriver(BDF, "igbvf");
    f.start(q);
    group = f.tree.dev().resolve("vfio/12");
    cdev = f.tree.dev().resolve("vfio/devices/vfio3");
    f.awaitBusNumbered("rp1");
    result(f.conn.deviceAdd(JsonNodeFactory.instance.objectNode().put("driver", "edu").put("id", ID).put("bus", "rp1")));
    result(f.store().put(new Attachment(VM, ID, "vfio-pci", BDF, "rp1", JsonNodeFactory.instance.objectNode(), true,
        "igbvf", null, List.of(), AttachmentState.ATTACHED, "op-a", "cli")));
    hold("group", group);
    hold("cdev", cdev);
    assertThat(ProcFds.held(q.pid(), f.tree.dev())).containsExactlyInAnyOrder(group.toString(), cdev.toString());
  }

  private void hold(String name, Path node) throws Exception {
    try (UnixFd fd = UnixFd.openReadWrite(node)) {
      result(holder.getfd(name, fd));
    }
  }


  /** device_del, then system_reset completes the unplug (qtest has no guest to acknowledge it). */
  private void unplug() {
    DetachResult r = result(f.ops.detach(Caller.cli(), new DetachRequest(VM, ID, true, "op-d")));
    assertThat(r.outcome()).isEqualTo(DetachOutcome.PENDING);
    result(f.conn.systemReset());
    Await.until("DEVICE_DELETED of " + ID, () -> f.seen.stream()
        .anyMatch(e -> e.type().equals("qmp.DEVICE_DELETED") && ID.equals(e.text("device"))));
  }

  @QemuTest
  void theHostDriverIsRestoredAndTheDeviceReportedDetachedOnlyOnceQemuClosedItsNodes(QemuBinary binary)
      throws Exception {
    setUp(binary, Duration.ofSeconds(30));
    unplug();

    SidecarEvent waiting = f.awaitEvent(EventTypes.DETACH_RELEASE_WAITING, ID);
    result(holder.closefd("group"));
    Thread.sleep(300);
    assertThat(f.find(EventTypes.DEVICE_DETACHED, ID)).as("QEMU still holds the cdev").isNull();
    assertThat(f.tree.driver(BDF)).isEqualTo("vfio-pci");
    long before = f.events.lastId();
    result(holder.closefd("cdev"));
    SidecarEvent detached = f.awaitEvent(EventTypes.DEVICE_DETACHED, ID);

    assertThat(waiting.data().path("held").toString()).contains(group.toString()).contains(cdev.toString());
    assertThat(waiting.data().path("waitedMs").asLong()).isGreaterThanOrEqualTo(1000);
    assertThat(detached.id()).isGreaterThan(before);
    assertThat(f.find(EventTypes.HOST_RESTORED, ID).id()).isGreaterThan(before);
    assertThat(detached.data().path("release").path("verified").asBoolean()).isTrue();
    assertThat(detached.data().path("release").path("pid").asLong()).isEqualTo(waiting.data().path("pid").asLong());
    assertThat(detached.data().path("release").path("waitedMs").asLong()).isGreaterThanOrEqualTo(1300);
    assertThat(f.tree.driver(BDF)).isEqualTo("igbvf");
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
  }

  @QemuTest
  void whenQemuKeepsANodeTheRemovalFailsTheHostIsLeftAloneAndADetachCompletesItLater(QemuBinary binary)
      throws Exception {
    setUp(binary, Duration.ofMillis(1500));
    result(holder.closefd("cdev"));
    unplug();

    SidecarEvent failed = f.awaitEvent(EventTypes.DETACH_FAILED, ID);
    assertThat(failed.text("error")).contains(ID + " is gone from QEMU, but QEMU (pid ")
        .contains("still holds [" + group + "]").contains("the host driver was not restored");
    assertThat(f.find(EventTypes.DEVICE_DETACHED, ID)).isNull();
    assertThat(f.tree.driver(BDF)).isEqualTo("vfio-pci");
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).extracting(Attachment::state)
        .containsExactly(AttachmentState.DETACHING);

    result(holder.closefd("group"));
    DetachResult again = result(f.ops.detach(Caller.cli(), new DetachRequest(VM, ID, true, "op-d2")));

    assertThat(again.outcome()).isEqualTo(DetachOutcome.NOT_FOUND);
    Await.until("device.detached", () -> f.find(EventTypes.DEVICE_DETACHED, ID) != null);
    assertThat(f.find(EventTypes.DEVICE_DETACHED, ID).data().path("release").path("verified").asBoolean()).isTrue();
    assertThat(f.tree.driver(BDF)).isEqualTo("igbvf");
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
  }
}
