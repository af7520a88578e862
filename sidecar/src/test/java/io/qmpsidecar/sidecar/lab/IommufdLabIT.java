package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.lab.LabL2.args;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpEvent;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * IOMMUFD with fd passing (lab v2): the L2 {@code user} runs as an unprivileged user that cannot
 * open {@code /dev/iommu} or any VFIO node; a privileged process in L1 (labtool fdpass, standing
 * in for the sidecar) opens {@code /dev/iommu} and an mtty mdev's cdev
 * {@code /dev/vfio/devices/vfioN}, passes both over the QMP Unix socket with SCM_RIGHTS
 * ({@code getfd}), and on that same monitor adds {@code iommufd} with {@code fd} and
 * {@code vfio-pci} with {@code iommufd} and {@code fd}. The test's own QMP connection (from the
 * host) then uses the device, detaches it and shows when QEMU let go of it relative to
 * {@code DEVICE_DELETED}. An igb VF then goes the same way on the same iommufd object, with the
 * VM's 64 MiB pinned for DMA through L1's VT-d. The {@code /dev/iommu} fd outlives
 * {@code object-del}: QEMU 10.0 and 11.1 do not close an iommufd fd they did not open, so a VM gets one
 * iommufd object for its lifetime.
 *
 * <p>Release order: QEMU sends {@code DEVICE_DELETED} from the device's finalize, after vfio-pci's
 * own finalize closed the device fd and unmapped its BARs. labtool fdwatch brackets the end of
 * each hold between the start of the last scan that still saw it and the end of the first that did
 * not; the tests assert that no scan begun after the event's timestamp still saw a hold.
 *
 * <p>The fds cannot come from the host: they are L1's, so qmp-client's fd passing has no part
 * here; labtool does what the sidecar's host prep would do on a real host.
 */
@ExtendWith(VfioLabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IommufdLabIT {
  private static final String USER = "1000:1000";
  private static final String DEV = "mtty-fd";
  private static final String IOMMUFD = "iommufd0";
  private static final String SOCKET = "/run/lab/user/qmp";
  private static final int ROOT_SLOT = 1;
  private static final int IO_BASE = 0x8000;
  private static final int SCR = 7;

  private static Vertx vertx;
  private static VfioLab lab;
  private static LabMdev mdev;
  private static LabL2 l2;

  @BeforeAll
  static void startUnprivilegedL2(VfioLab vfioLab) {
    lab = vfioLab;
    assertThat(lab.hasIommufd()).as("L1 has /dev/iommu (the lab v2 kernel; L1 runs %s)", lab.kernelRelease()).isTrue();
    mdev = lab.mdev(2);
    vertx = Vertx.vertx();
    l2 = LabL2.start(vertx, lab, "user", lab.spareQemu(), USER).awaitFirmware();
  }

  @AfterAll
  static void stop() {
    if (l2 != null) {
      l2.close();
    }
    result(vertx.close());
  }

  @Test
  @Order(1)
  void theUnprivilegedQemuCanOpenNeitherIommuNorTheDevice() {
    L1Shell l1 = lab.l1();

    assertThat(l1.run("grep Uid: /proc/" + l2.pid + "/status")).matches("Uid:\\s+1000\\s+1000\\s+1000\\s+1000\\s*");
    for (String node : new String[] {"/dev/iommu", mdev.cdevPath(), "/dev/vfio/" + mdev.iommuGroup()}) {
      L1Shell.Result r = l1.exec("labtool runas " + USER + " sh -c 'exec 3<>" + node + "'");
      assertThat(r.exitCode()).as("user %s opening %s", USER, node).isNotZero();
      assertThat(r.output()).contains("Permission denied");
    }
    l2.execute("object-add", args().put("qom-type", "iommufd").put("id", "own"));
    QmpCommandException own = (QmpCommandException) failure(l2.qmp.execute("device_add",
        args().put("driver", "vfio-pci").put("id", "own-dev").put("bus", "rp1").put("sysfsdev", mdev.sysfsdev())
            .put("iommufd", "own")));
    assertThat(own.description()).contains("Failed to open " + mdev.cdevPath());
    l2.execute("object-del", args().put("id", "own"));
    QmpCommandException legacy = (QmpCommandException) failure(l2.qmp.execute("device_add",
        args().put("driver", "vfio-pci").put("id", "legacy").put("bus", "rp1").put("sysfsdev", mdev.sysfsdev())));
    assertThat(legacy.description()).contains("Could not open '/dev/vfio/" + mdev.iommuGroup() + "': Permission denied");
    assertThat(l1.fdTargets(l2.pid)).noneMatch(t -> t.startsWith("/dev/vfio") || t.equals("/dev/iommu"));
    System.out.printf("lab iommufd: QEMU's own opens refused: %s | %s%n", own.description(), legacy.description());
  }

  @Test
  @Order(2)
  void aDevicePassedByFdIsUsedAndQemuHoldsExactlyThePassedDescriptors() {
    L1Shell l1 = lab.l1();
    long start = System.nanoTime();

    String out = l1.run("labtool fdpass " + SOCKET + " " + IOMMUFD + "=/dev/iommu " + DEV + "=" + mdev.cdevPath()
        + " -- '{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"iommufd\",\"id\":\"" + IOMMUFD
        + "\",\"fd\":\"" + IOMMUFD + "\"}}'"
        + " '{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vfio-pci\",\"id\":\"" + DEV
        + "\",\"bus\":\"rp1\",\"iommufd\":\"" + IOMMUFD + "\",\"fd\":\"" + DEV + "\",\"sysfsdev\":\""
        + mdev.sysfsdev() + "\"}}'");

    Duration attach = Duration.ofNanos(System.nanoTime() - start);
    assertThat(out).contains("fdpass " + IOMMUFD + "=/dev/iommu").contains("fdpass " + DEV + "=" + mdev.cdevPath());
    assertThat(l2.realized(DEV)).isTrue();
    GuestIo io = l2.io();
    io.openIoWindow(ROOT_SLOT, IO_BASE);
    io.outb(IO_BASE + SCR, 0xa5);
    assertThat(io.inb(IO_BASE + SCR)).as("the device answers through the passed fd").isEqualTo(0xa5);
    assertThat(l1.fdCount(l2.pid, "/dev/iommu")).isEqualTo(1);
    assertThat(l1.fdCount(l2.pid, mdev.cdevPath())).isEqualTo(1);
    assertThat(l1.exec("pidof labtool").output()).as("the passing side closed its copies and ended").isEmpty();
    System.out.printf("lab timing: attach by fd (labtool fdpass: getfd x2, object-add, device_add) %d ms%n",
        attach.toMillis());
  }

  @Test
  @Order(3)
  void qemuHasLetGoOfTheDeviceWhenDeviceDeletedIsStamped() {
    Release r = detachWatching(DEV, mdev.cdevPath(), "rp1");

    assertThat(r.fds().lastHeldUs()).as("last seen holding the cdev before DEVICE_DELETED").isLessThan(r.eventUs());
    assertThat(lab.l1().fdCount(l2.pid, "/dev/iommu")).as("the iommufd object still holds /dev/iommu").isEqualTo(1);
  }

  @Test
  @Order(4)
  void aVfPassedByFdGetsTheVmsMemoryMappedThroughL1sIommu() {
    L1Shell l1 = lab.l1();
    LabFunction vf = lab.vfs().get(0);
    l2.awaitFirmware();
    String cdev = "/dev/vfio/devices/" + vf.cdev();
    long start = System.nanoTime();

    l1.run("labtool fdpass " + SOCKET + " vf0=" + cdev
        + " -- '{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vfio-pci\",\"id\":\"vf0\","
        + "\"bus\":\"rp2\",\"iommufd\":\"" + IOMMUFD + "\",\"fd\":\"vf0\",\"host\":\"" + vf.bdf().value() + "\"}}'");

    Duration attach = Duration.ofNanos(System.nanoTime() - start);
    assertThat(l2.realized("vf0")).isTrue();
    assertThat(result(l2.qmp.queryPci()).stream().flatMap(d -> d.children().stream())
        .filter(d -> d.qdevId().equals("vf0")).toList())
        .extracting(PciDevice::vendorId, PciDevice::deviceId).containsExactly(tuple(0x8086, 0x10ca));
    assertThat(l1.fdCount(l2.pid, cdev)).isEqualTo(1);
    assertThat(l1.run("grep -c " + cdev + " /proc/" + l2.pid + "/maps").trim()).as("QEMU mapped the VF's BARs")
        .isNotEqualTo("0");
    assertThat(l1.fdCount(l2.pid, "/dev/iommu")).as("the VM's one iommufd object serves both devices").isEqualTo(1);
    String pinned = l1.run("sed -n 's/^VmPin:[^0-9]*\\([0-9]*\\) kB/\\1/p' /proc/" + l2.pid + "/status").trim();
    assertThat(Long.parseLong(pinned)).as("kB of the VM's RAM pinned for DMA through IOMMUFD").isGreaterThanOrEqualTo(64 * 1024);
    System.out.printf("lab timing: VF %s attached by fd (iommufd, unprivileged QEMU) in %d ms; VmPin %s kB%n", vf.bdf(),
        attach.toMillis(), pinned);

    Release r = detachWatching("vf0", cdev, "rp2");
    assertThat(r.fds().lastHeldUs()).as("last seen holding the VF's cdev before DEVICE_DELETED").isLessThan(r.eventUs());
    assertThat(r.maps().lastHeldUs()).as("last seen mapping the VF's BARs before DEVICE_DELETED").isLessThan(r.eventUs());

    l2.execute("object-del", args().put("id", IOMMUFD));
    assertThat(result(l2.qmp.qomList("/objects"))).noneMatch(p -> p.name().equals(IOMMUFD));
    assertThat(l1.fdCount(l2.pid, "/dev/iommu"))
        .as("QEMU (10.0 and 11.1) never closes an iommufd fd it was given (it does not own it): one object per VM")
        .isEqualTo(1);
  }

  /** When a kind of hold (descriptors or mappings) was last seen and first seen gone, in L1's microseconds. */
  record Window(long lastHeldUs, long goneUs) {}

  /** A detach watched by labtool fdwatch: DEVICE_DELETED's timestamp and the two windows. */
  record Release(long eventUs, Window fds, Window maps) {}

  /**
   * Starts labtool fdwatch on the QEMU and {@code path}, detaches {@code id} ({@code device_del},
   * then the ACPI eject a guest OS would do), and returns when QEMU held what, against the
   * {@code DEVICE_DELETED} timestamp (both L1's CLOCK_REALTIME).
   */
  private static Release detachWatching(String id, String path, String rootPort) {
    L1Shell l1 = lab.l1();
    String out = "/tmp/fdwatch-" + id + ".out";
    l1.run("labtool fdwatch " + l2.pid + " " + path + " 30000 > " + out + " 2>&1 &");
    LabL2.until("fdwatch is ready", () -> l1.run("cat " + out).contains("fdwatch ready"));

    result(l2.qmp.execute("device_del", args().put("id", id)));
    new GuestIo(l2.qmp).acpiEject(id);
    QmpEvent deleted = l2.await("DEVICE_DELETED of " + id, e -> e.name().equals("DEVICE_DELETED") && id.equals(e.text("device")));
    LabL2.until("fdwatch saw " + path + " released", () -> l1.run("cat " + out).contains("fdwatch released"));

    String report = l1.run("cat " + out);
    long eventUs = ChronoUnit.MICROS.between(Instant.EPOCH, deleted.timestamp());
    Release r = new Release(eventUs, window(report, "fds"), window(report, "maps"));
    System.out.printf("lab release: %s on %s: DEVICE_DELETED at %d us; descriptors last held %+d us, gone %+d us;"
        + " mappings last held %+d us, gone %+d us (relative to the event)%n", id, rootPort, eventUs,
        r.fds().lastHeldUs() - eventUs, r.fds().goneUs() - eventUs, r.maps().lastHeldUs() - eventUs,
        r.maps().goneUs() - eventUs);
    return r;
  }

  private static Window window(String report, String kind) {
    Matcher m = Pattern.compile("fdwatch " + kind + "-gone last-held-us=(\\d+) gone-us=(\\d+)").matcher(report);
    if (!m.find()) {
      throw new AssertionError("fdwatch reported no " + kind + "-gone line: " + report);
    }
    return new Window(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }
}
