package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An API caller attaches one of L1's mtty mdevs to the lab's L2 {@code vm} (QEMU 7.2) through the
 * sidecar's operations: host prep reads the mdev from the mirror of L1's sysfs (type
 * {@code mtty-1}, parent {@code mtty}, its IOMMU group), the default preset decides with those
 * facts against the value set {@code hotplug.mdevTypes}, QEMU realizes {@code vfio-pci} with
 * {@code sysfsdev}; then the caller detaches it. A type the set does not list is refused before
 * anything changes. Needs the lab v2 kernel (the mdevs).
 */
@ExtendWith(VfioLabExtension.class)
class MdevAttachLabIT {
  private static final String VM = "vm";
  private static final Caller CALLER = Caller.api("lab");
  @RegisterExtension static final TestVertx VERTX = new TestVertx();

  @TempDir Path dir;

  @Test
  void anMdevOfAnAllowedTypeIsAttachedByUuidVerifiedInQemuAndDetached(VfioLab lab) {
    LabMdev mdev = lab.mdev(0);
    try (LabSidecar sidecar = sidecar(lab, "mtty-1")) {
      Attachment a = result(sidecar.ops.attach(CALLER, request(mdev, "dpu-mtty")), LabSidecar.ATTACH_WAIT);

      assertThat(a.hostBdf()).isNull();
      assertThat(a.hostRebound()).isFalse();
      assertThat(a.properties().path("sysfsdev").asText()).isEqualTo(mdev.sysfsdev());
      assertThat(a.attachedBy()).isEqualTo(CALLER.id());
      assertThat(a.properties().has("enable-migration")).as("QEMU 7.2's vfio-pci has no enable-migration").isFalse();
      assertThat(sidecar.realized(VM, "dpu-mtty")).isTrue();
      assertThat(result(sidecar.conn(VM).qomGet("/machine/peripheral/dpu-mtty", "sysfsdev")).asText())
          .isEqualTo(mdev.sysfsdev());
      assertThat(a.guestAddress()).as("query-pci lists it: SeaBIOS numbered the root port's bus").isNotNull();
      // mtty's config space: WCH (0x4348) CH353 single port serial (0x3253).
      assertThat(underRootPort(sidecar, a.rootPort())).extracting(PciDevice::qdevId, PciDevice::vendorId,
          PciDevice::deviceId).containsExactly(tuple("dpu-mtty", 0x4348, 0x3253));
      SidecarEvent prepared = sidecar.event(EventTypes.ATTACH_HOST_PREPARED, "dpu-mtty");
      assertThat(prepared.data().get("iommuGroup").asInt()).isEqualTo(mdev.iommuGroup());
      assertThat(prepared.text("mdevType")).isEqualTo("mtty-1");
      assertThat(prepared.text("mdevParent")).isEqualTo("mtty");
      assertThat(prepared.data().get("rebound").asBoolean()).isFalse();

      assertThat(result(sidecar.ops.attach(CALLER, request(mdev, "dpu-mtty")))).as("a repeat changes nothing")
          .isEqualTo(a);

      assertThat(result(sidecar.ops.detach(CALLER, new DetachRequest(VM, "dpu-mtty", false, "op-del-mtty")),
          LabSidecar.ATTACH_WAIT).outcome()).isEqualTo(DetachOutcome.DETACHED);
      sidecar.awaitFirmware(VM);
      assertThat(sidecar.realized(VM, "dpu-mtty")).isFalse();
      assertThat(result(sidecar.ops.attachments(CALLER, VM))).isEmpty();
      assertThat(sidecar.event(EventTypes.DEVICE_DETACHED, "dpu-mtty").data().path("release").path("verified")
          .asBoolean()).as("released once L2's QEMU held no descriptor of the mdev's group node in L1").isTrue();
    }
  }

  @Test
  void anMdevOfATypeTheConfigurationDoesNotListIsDeniedBeforeAnythingChanges(VfioLab lab) {
    LabMdev mdev = lab.mdev(0);
    try (LabSidecar sidecar = sidecar(lab, "mtty-2")) {
      SidecarException denied = (SidecarException) failure(sidecar.ops.attach(CALLER, request(mdev, "dpu-mtty")));
      SidecarException missing = (SidecarException) failure(sidecar.ops.attach(CALLER,
          request(new LabMdev("00000000-0000-4000-8000-000000000000", "mtty-1", "mtty", -1, null), "dpu-none")));

      assertThat(denied.kind()).isEqualTo(SidecarException.Kind.DENIED);
      assertThat(denied.getMessage()).contains("mdev " + mdev.uuid() + " has type mtty-1, not one of [mtty-2]");
      assertThat(missing.kind()).isEqualTo(SidecarException.Kind.HOST_PREREQUISITE);
      assertThat((String) missing.detail("problem")).startsWith("no such mdev");
      assertThat(sidecar.realized(VM, "dpu-mtty")).isFalse();
      assertThat(sidecar.seen).extracting(SidecarEvent::type).doesNotContain(EventTypes.ATTACH_HOST_PREPARED);
      assertThat(result(sidecar.ops.attachments(CALLER, VM))).isEmpty();
    }
  }

  private LabSidecar sidecar(VfioLab lab, String allowedType) {
    ValueSets sets = ValueSets.of(Map.of("hotplug.mdevTypes", List.of(allowedType)));
    return new LabSidecar(VERTX.get(), lab, dir, sets, VM).ejectOnDetach(VM).awaitFirmware(VM);
  }

  private static AttachRequest request(LabMdev mdev, String id) {
    return new AttachRequest(VM, "vfio-pci", FunctionRef.mdev(mdev.uuid()), null, id, null, null, "op-" + id);
  }

  private static List<PciDevice> underRootPort(LabSidecar sidecar, String rootPort) {
    return result(sidecar.conn(VM).queryPci()).stream().filter(d -> rootPort.equals(d.qdevId()))
        .findFirst().orElseThrow(() -> new AssertionError("query-pci lists no root port " + rootPort))
        .children();
  }
}
