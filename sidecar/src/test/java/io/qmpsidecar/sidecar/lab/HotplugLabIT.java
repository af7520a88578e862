package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.lab.LabSidecar.vfio;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sidecar's hotplug operations pass real L1 functions (an SR-IOV VF, edu, e1000e) into the
 * lab's L2 {@code vm} with {@code vfio-pci}, and meet QEMU's real errors for a group that is not
 * viable and an address L1 does not have.
 */
@ExtendWith(VfioLabExtension.class)
class HotplugLabIT {
  private static final String VM = "vm";
  private static final String NO_MIGRATION = "VFIO device doesn't support migration";
  @RegisterExtension static final TestVertx VERTX = new TestVertx();

  @TempDir Path dir;
  private LabSidecar sidecar;

  @BeforeEach
  void startSidecar(VfioLab lab) {
    sidecar = new LabSidecar(VERTX.get(), lab, dir, VM).ejectOnDetach(VM).awaitFirmware(VM);
  }

  @AfterEach
  void stopSidecar() {
    sidecar.detachAll(VM);
    sidecar.close();
  }

  @Test
  void aRealVfIsAttachedVerifiedDetachedWithCompletionAndAttachedAgain(VfioLab lab) {
    LabFunction pf = lab.function("pf");
    LabFunction vf = lab.vfs().get(0);
    long start = System.nanoTime();

    Attachment a = sidecar.attach(vfio(VM, FunctionRef.vf(pf.bdf(), 0), "dpu-vf0", null));

    Duration firstAttach = Duration.ofNanos(System.nanoTime() - start);
    assertThat(a.hostBdf()).isEqualTo(vf.bdf().value());
    assertThat(sidecar.realized(VM, "dpu-vf0")).isTrue();
    assertThat(a.guestAddress()).as("query-pci lists it: SeaBIOS numbered the root port's bus").isNotNull();
    assertThat(underRootPort(a.rootPort())).extracting(PciDevice::qdevId, PciDevice::vendorId, PciDevice::deviceId)
        .containsExactly(tuple("dpu-vf0", 0x8086, 0x10ca));
    assertThat(a.migrationBlockedReasons()).containsExactly(NO_MIGRATION);
    assertThat(sidecar.event(EventTypes.ATTACH_HOST_PREPARED, "dpu-vf0").data().get("iommuGroup").asInt())
        .isEqualTo(vf.iommuGroup());
    Duration firstAdd = sidecar.deviceAddTime("dpu-vf0");

    assertThat(sidecar.detach(VM, "dpu-vf0").outcome()).isEqualTo(DetachOutcome.DETACHED);
    Duration detach = Duration.between(sidecar.event(EventTypes.DETACH_REQUESTED, "dpu-vf0").time(),
        sidecar.event(EventTypes.DEVICE_DETACHED, "dpu-vf0").time());
    assertThat(sidecar.realized(VM, "dpu-vf0")).isFalse();
    assertThat(result(sidecar.ops.attachments(Caller.cli(), VM))).isEmpty();
    assertThat(result(sidecar.conn(VM).queryMigrate()).blockedReasons()).isEmpty();
    // Released means released: device.detached came once L2's QEMU, read in L1's /proc, held no
    // descriptor of the VF's group node (a group node opens once at a time, so a hold cannot be
    // staged here; ReleaseIT stages one on real QEMUs on the host).
    JsonNode release = sidecar.event(EventTypes.DEVICE_DETACHED, "dpu-vf0").data().path("release");
    assertThat(release.path("verified").asBoolean()).as("%s", release).isTrue();
    assertThat(release.path("pid").asLong()).isEqualTo(lab.l1().l2Pid(VM));
    assertThat(release.path("nodes").toString()).contains("/vfio/" + vf.iommuGroup() + "\"");
    assertThat(lab.l1().fdCount(lab.l1().l2Pid(VM), "/dev/vfio/" + vf.iommuGroup())).isZero();

    start = System.nanoTime();
    Attachment again = sidecar.attach(vfio(VM, FunctionRef.vf(pf.bdf(), 0), "dpu-vf0", null));
    Duration secondAttach = Duration.ofNanos(System.nanoTime() - start);
    assertThat(sidecar.realized(VM, "dpu-vf0")).isTrue();
    assertThat(again.hostBdf()).isEqualTo(vf.bdf().value());
    assertThat(again.guestAddress()).isNotNull();

    System.out.printf("lab timing: boot %d ms; VF attach %d ms (device_add %d ms), detach %d ms (%s),"
            + " VF attach again %d ms (device_add %d ms)%n", lab.bootTime().toMillis(), firstAttach.toMillis(),
        firstAdd.toMillis(), detach.toMillis(), "300 ms of it before the ACPI eject", secondAttach.toMillis(),
        sidecar.deviceAddTime("dpu-vf0").toMillis());
  }

  @Test
  void plainFunctionsAreAttachedByAddressNextToEachOtherAndDetached(VfioLab lab) {
    LabFunction edu = lab.function("edu");
    LabFunction nic = lab.function("nic");

    Attachment a = sidecar.attach(vfio(VM, FunctionRef.of(edu.bdf()), "dpu-edu", null));
    Attachment b = sidecar.attach(vfio(VM, FunctionRef.of(nic.bdf()), "dpu-nic", null));

    assertThat(a.rootPort()).isNotEqualTo(b.rootPort());
    assertThat(underRootPort(a.rootPort())).extracting(PciDevice::vendorId, PciDevice::deviceId)
        .containsExactly(tuple(0x1234, 0x11e8));
    assertThat(underRootPort(b.rootPort())).extracting(PciDevice::vendorId, PciDevice::deviceId)
        .containsExactly(tuple(0x8086, 0x10d3));
    assertThat(result(sidecar.conn(VM).queryMigrate()).blockedReasons()).containsExactly(NO_MIGRATION, NO_MIGRATION);
    System.out.printf("lab timing: edu device_add %d ms (no other vfio device attached), e1000e"
        + " device_add %d ms (edu attached)%n", sidecar.deviceAddTime("dpu-edu").toMillis(),
        sidecar.deviceAddTime("dpu-nic").toMillis());

    assertThat(sidecar.detach(VM, "dpu-edu").outcome()).isEqualTo(DetachOutcome.DETACHED);
    assertThat(sidecar.detach(VM, "dpu-nic").outcome()).isEqualTo(DetachOutcome.DETACHED);
    assertThat(sidecar.realized(VM, "dpu-edu")).isFalse();
    assertThat(sidecar.realized(VM, "dpu-nic")).isFalse();
  }

  @Test
  void aFunctionWhoseGroupIsNotViableIsRefusedByHostPrepAndByQemu(VfioLab lab) {
    LabFunction shared = lab.function("shared");
    LabFunction sibling = lab.function("sibling");
    assertThat(sibling.iommuGroup()).isEqualTo(shared.iommuGroup());

    SidecarException e = (SidecarException) failure(sidecar.tryAttach(
        vfio(VM, FunctionRef.of(shared.bdf()), "dpu-shared", null)));
    QmpCommandException q = (QmpCommandException) failure(sidecar.conn(VM).deviceAdd(vfioPci(shared.bdf(), "raw-shared")));

    assertThat(e.detail("bdf")).isEqualTo(shared.bdf().value());
    assertThat(e.detail("group")).isEqualTo(shared.iommuGroup());
    assertThat((String) e.detail("problem")).isEqualTo("IOMMU group " + shared.iommuGroup() + " also holds " + sibling.bdf()
        + " (bound to pci-pf-stub), and QEMU can only take a whole group");
    assertThat(q.errorClass()).isEqualTo("GenericError");
    assertThat(q.description()).isEqualTo("vfio " + shared.bdf() + ": group " + shared.iommuGroup() + " is not viable");
    assertThat(sidecar.realized(VM, "dpu-shared")).isFalse();
    assertThat(sidecar.realized(VM, "raw-shared")).isFalse();
  }

  @Test
  void anAddressL1DoesNotHaveIsRefusedByHostPrepAndByQemu(VfioLab lab) {
    Bdf missing = Bdf.parse("0000:05:00.0");
    assertThat(lab.functions()).extracting(LabFunction::bdf).doesNotContain(missing);
    LabFunction pf = lab.function("pf");
    int vfs = lab.vfs().size();

    SidecarException noDevice = (SidecarException) failure(sidecar.tryAttach(
        vfio(VM, FunctionRef.of(missing), "dpu-missing", null)));
    SidecarException noVf = (SidecarException) failure(sidecar.tryAttach(
        vfio(VM, FunctionRef.vf(pf.bdf(), vfs), "dpu-novf", null)));
    QmpCommandException q = (QmpCommandException) failure(sidecar.conn(VM).deviceAdd(vfioPci(missing, "raw-missing")));

    assertThat((String) noDevice.detail("problem")).startsWith("no such PCI device");
    assertThat(noDevice.fix()).contains("lspci -D");
    assertThat((String) noVf.detail("problem")).isEqualTo("has no VF " + vfs + " (no virtfn" + vfs + " link)");
    assertThat(noVf.fix()).contains("sriov_numvfs");
    assertThat(q.description()).isEqualTo("vfio /sys/bus/pci/devices/" + missing
        + ": no such host device: No such file or directory");
    assertThat(sidecar.realized(VM, "raw-missing")).isFalse();
  }

  private List<PciDevice> underRootPort(String rootPort) {
    return result(sidecar.conn(VM).queryPci()).stream().filter(d -> rootPort.equals(d.qdevId()))
        .findFirst().orElseThrow(() -> new AssertionError("query-pci lists no root port " + rootPort))
        .children();
  }

  private static ObjectNode vfioPci(Bdf host, String id) {
    return JsonNodeFactory.instance.objectNode().put("driver", "vfio-pci").put("host", host.value())
        .put("id", id).put("bus", "rp4");
  }
}
