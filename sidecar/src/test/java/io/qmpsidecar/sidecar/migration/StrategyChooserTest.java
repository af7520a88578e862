package io.qmpsidecar.sidecar.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How {@code auto} chooses from QEMU's {@code blocked-reasons}, with texts QEMU gave in the lab and
 * the QMP tests (7.2: one generic VFIO blocker; 10.0: the host address or the mdev's UUID first).
 * No QEMU: the choice is a function of the texts, and a lab run of each kind is in
 * {@code MigrationLabIT} (igb VF) and {@code MttyMigrationLabIT} (mtty mdev).
 */
class StrategyChooserTest {
  private static final String UUID = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";
  private static final MigratingFunction VF = auto(new DeviceSpec("dpu-vf1", "vfio-pci",
      Map.of("host", "0000:03:10.2", "bus", "rp1")), true);
  private static final MigratingFunction MDEV = auto(new DeviceSpec("mtty0", "vfio-pci",
      Map.of("sysfsdev", "/sys/bus/mdev/devices/" + UUID, "bus", "rp1")), true);
  private static final MigratingFunction NIC = auto(new DeviceSpec("nic1", "e1000e", Map.of("bus", "rp2")), false);

  @Test
  void aVfioDeviceQemuNamesInABlockerIsUnpluggedWithQemusTextAsTheReason() {
    String blocker = "0000:03:10.2: VFIO migration is not supported in kernel";

    assertThat(choices(List.of(VF, MDEV), blocker)).containsExactly("unplug-replug | QEMU: " + blocker,
        "vfio-migration | QEMU reports no migration blocker for mtty0: its state migrates with QEMU");
  }

  @Test
  void anMdevIsNamedByItsUuid() {
    String blocker = UUID + ": VFIO device doesn't support device dirty tracking";

    assertThat(choices(List.of(MDEV), blocker)).containsExactly("unplug-replug | QEMU: " + blocker);
  }

  @Test
  void qemu72sGenericVfioBlockerUnplugsEveryVfioFunctionButNotAnEmulatedOne() {
    String blocker = "VFIO device doesn't support migration";

    assertThat(choices(List.of(VF, NIC), blocker)).containsExactly(
        "unplug-replug | QEMU: " + blocker + " (names no device it can be told by, so it may be dpu-vf1)",
        "vfio-migration | QEMU reports no migration blocker for nic1: its state migrates with QEMU");
  }

  @Test
  void aFailoverPrimaryFollowsItsStandby() {
    MigratingFunction primary = auto(new DeviceSpec("dpu-vf2", "vfio-pci",
        Map.of("host", "0000:03:10.3", "failover_pair_id", "net0")), true);

    assertThat(choices(List.of(primary), "0000:03:10.3: VFIO migration is not supported in kernel")).containsExactly(
        "failover | a failover standby is configured (failover_pair_id=net0): QEMU unplugs the primary itself");
  }

  @Test
  void aStrategyTheCallerNamedStaysWithReasonRequested() {
    MigratingFunction named = new MigratingFunction(VF.spec(), Strategy.VFIO_MIGRATION, true);

    assertThat(choices(List.of(named), "0000:03:10.2: VFIO migration is not supported in kernel"))
        .containsExactly("vfio-migration | requested");
  }

  @Test
  void aBlockerOfAnotherDeviceDoesNotChooseForThisOne() {
    assertThat(choices(List.of(VF), "Migration is disabled when using feature 'peer mode' in device 'ivshmem'"))
        .containsExactly("vfio-migration | QEMU reports no migration blocker for dpu-vf1: its state migrates with QEMU");
  }

  @Test
  void aNameIsMatchedWholeNotAsAPrefix() {
    MigratingFunction vf10 = auto(new DeviceSpec("dpu-vf10", "vfio-pci", Map.of("host", "0000:03:10.1", "bus", "rp2")),
        true);
    MigratingFunction vf1 = auto(new DeviceSpec("dpu-vf1", "vfio-pci", Map.of("host", "0000:03:10.0", "bus", "rp1")),
        true);
    String blocker = "Migration is disabled for dpu-vf10 (0000:03:10.1)";

    assertThat(choices(List.of(vf1, vf10), blocker)).containsExactly(
        "vfio-migration | QEMU reports no migration blocker for dpu-vf1: its state migrates with QEMU",
        "unplug-replug | QEMU: " + blocker);
  }

  /** QEMU 10.0 names a device passed by descriptor VFIO_FDn, which no function of the request is. */
  @Test
  void aVfioBlockerOfADevicePassedByDescriptorMayBeAnyVfioFunction() {
    String blocker = "VFIO_FD13: VFIO migration is not supported in kernel";

    assertThat(choices(List.of(VF, NIC), blocker)).containsExactly(
        "unplug-replug | QEMU: " + blocker + " (names no device it can be told by, so it may be dpu-vf1)",
        "vfio-migration | QEMU reports no migration blocker for nic1: its state migrates with QEMU");
  }

  /**
   * QEMU (8.1+) blocks the migration of several VFIO devices unless all support the P2P states,
   * naming none: every VFIO function is unplugged, whichever lacks them. The sidecar cannot tell
   * which does; QEMU can.
   */
  @Test
  void qemusBlockerForSeveralVfioDevicesWithoutP2pStatesUnplugsEachOfThem() {
    String blocker = "Multiple VFIO devices migration is supported only if all of them support P2P migration";

    assertThat(choices(List.of(VF, MDEV, NIC), blocker)).containsExactly(
        "unplug-replug | QEMU: " + blocker + " (names no device it can be told by, so it may be dpu-vf1)",
        "unplug-replug | QEMU: " + blocker + " (names no device it can be told by, so it may be mtty0)",
        "vfio-migration | QEMU reports no migration blocker for nic1: its state migrates with QEMU");
  }

  /** Each function's chosen strategy and reason, as {@code strategy | reason}. */
  private static List<String> choices(List<MigratingFunction> functions, String blocker) {
    return StrategyChooser.choose(functions, List.of(blocker)).stream()
        .map(f -> f.strategy().wireName() + " | " + f.reason()).toList();
  }

  private static MigratingFunction auto(DeviceSpec spec, boolean vfio) {
    return new MigratingFunction(spec, Strategy.AUTO, vfio);
  }
}
