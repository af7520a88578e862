package io.qmpsidecar.sidecar.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which of QEMU's blocked-reasons unplugging a function lifts, with QEMU's own texts. */
class UnplugReplugStrategyTest {
  private static final MigratingFunction VF = new MigratingFunction(
      new DeviceSpec("dpu-vf1", "vfio-pci", Map.of("host", "0000:03:10.2", "bus", "rp1")), Strategy.UNPLUG_REPLUG, true);
  private static final MigratingFunction NIC = new MigratingFunction(
      new DeviceSpec("nic1", "e1000e", Map.of("bus", "rp2")), Strategy.UNPLUG_REPLUG, false);

  @Test
  void qemu72sGenericVfioBlockerIsLiftedByUnpluggingAVfioFunction() {
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(VF, "VFIO device doesn't support migration")).isTrue();
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(NIC, "VFIO device doesn't support migration")).isFalse();
  }

  @Test
  void qemu100sBlockerNamesTheHostAddress() {
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(VF, "0000:03:10.2: VFIO migration is not supported in kernel")).isTrue();
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(VF, "0000:03:10.0: VFIO migration is not supported in kernel")).isFalse();
  }

  @Test
  void qemu100sBlockerNamesAnMdevByItsUuid() {
    MigratingFunction mdev = new MigratingFunction(new DeviceSpec("mtty0", "vfio-pci",
        Map.of("sysfsdev", "/sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001")), Strategy.UNPLUG_REPLUG, true);

    assertThat(UnplugReplugStrategy.INSTANCE.resolves(mdev,
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001: VFIO device doesn't support device dirty tracking")).isTrue();
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(mdev,
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002: VFIO device doesn't support device dirty tracking")).isFalse();
  }

  @Test
  void otherBlockersStay() {
    assertThat(UnplugReplugStrategy.INSTANCE.resolves(VF,
        "Migration is disabled when using feature 'peer mode' in device 'ivshmem'")).isFalse();
  }
}
