package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.GroupMember;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** lab/start's report, parsed, and the sysfs mirror host prep reads. */
class VfioLabTest {
  private static final List<String> REPORT = List.of(
      "qemu-system-x86_64: warning: nic igb.0 has no peer",
      "LAB dev bdf=0000:00:02.0 vendor=0x1b36 device=0x000c driver=pcieport group=2 physfn=- vfindex=- role=",
      "LAB dev bdf=0000:03:00.0 vendor=0x8086 device=0x10c9 driver=pci-pf-stub group=9 physfn=- vfindex=- role=pf",
      "LAB dev bdf=0000:03:10.2 vendor=0x8086 device=0x10ca driver=vfio-pci group=12 physfn=0000:03:00.0 vfindex=1 role=",
      "LAB dev bdf=0000:03:10.0 vendor=0x8086 device=0x10ca driver=vfio-pci group=11 physfn=0000:03:00.0 vfindex=0 role=",
      "LAB dev bdf=0000:04:00.0 vendor=0x8086 device=0x100e driver=pci-pf-stub group=10 physfn=- vfindex=- role=sibling",
      "LAB dev bdf=0000:04:00.1 vendor=0x1b36 device=0x0005 driver=vfio-pci group=10 physfn=- vfindex=- role=shared",
      "LAB vfio group=10", "LAB vfio group=11", "LAB vfio group=12",
      "LAB l2 name=vm port=4444 qemu=7.2",
      "LAB qmp name=vm address=127.0.0.1:40001",
      "LAB qmp name=mig address=127.0.0.1:40002",
      "LAB qmp name=mig-dst address=127.0.0.1:40003",
      "LAB boot-ms=12643",
      "LAB up pid=13323");

  @TempDir Path dir;
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void stopVertx() {
    result(vertx.close());
  }

  @Test
  void theReportGivesFunctionsVfsInIndexOrderAndLoopbackQmpAddresses() {
    VfioLab lab = VfioLab.parse(REPORT);

    assertThat(lab.functions()).hasSize(6);
    assertThat(lab.function("shared")).isEqualTo(new LabFunction(Bdf.parse("0000:04:00.1"), "1b36", "0005",
        "vfio-pci", 10, null, -1, "shared"));
    assertThat(lab.vfs()).extracting(f -> f.bdf().value(), LabFunction::vfIndex)
        .containsExactly(tuple("0000:03:10.0", 0),
            tuple("0000:03:10.2", 1));
    assertThat(lab.qmp("mig-dst").toString()).isEqualTo("tcp:127.0.0.1:40003");
    assertThat(lab.bootTime().toMillis()).isEqualTo(12643);
    assertThat(lab.hasVfioGroup(11)).isTrue();
    assertThat(lab.hasVfioGroup(9)).isFalse();
    assertThatThrownBy(() -> lab.function("edu")).hasMessageContaining("no function with role edu")
        .hasMessageContaining("pf");
  }

  @Test
  void aReportWithoutAnL2sAddressIsRejectedNamingIt() {
    List<String> partial = REPORT.stream().filter(l -> !l.contains("name=mig-dst")).toList();

    assertThatThrownBy(() -> VfioLab.parse(partial)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no QMP address of L2 mig-dst").hasMessageContaining("console.log");
  }

  @Test
  void hostPrepResolvesVfsAndSeesGroupsThroughTheMirror() {
    SysfsTree mirror = VfioLab.parse(REPORT).mirror(dir);
    SysfsWriter refuse = (file, value) -> {
      throw new AssertionError("no write expected, got " + value + " to " + file);
    };
    SysfsHostPrep prep = new SysfsHostPrep(vertx, mirror.sys(), mirror.dev(), refuse);

    Bdf vf1 = result(prep.resolveVf(Bdf.parse("0000:03:00.0"), 1));
    HostDevice vf = result(prep.inspect(vf1));
    HostDevice shared = result(prep.inspect(Bdf.parse("0000:04:00.1")));

    assertThat(vf1.value()).isEqualTo("0000:03:10.2");
    assertThat(vf.physfn()).contains(Bdf.parse("0000:03:00.0"));
    assertThat(vf.iommuGroup()).isEqualTo(12);
    assertThat(vf.groupExclusive()).isTrue();
    assertThat(result(prep.prepare(vf, null)).boundDriver()).isEqualTo("vfio-pci");
    assertThat(shared.foreignGroupMembers())
        .containsExactly(new GroupMember(Bdf.parse("0000:04:00.0"), Optional.of("pci-pf-stub")));
  }
}
