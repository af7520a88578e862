package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.lab.LabL2.args;
import static org.assertj.core.api.Assertions.assertThat;

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
 * host) then uses the device, detaches it and shows when QEMU really let go of it: after
 * {@code DEVICE_DELETED}. The {@code /dev/iommu} fd outlives {@code object-del}: QEMU 10.0 does
 * not close an iommufd fd it did not open, so a VM gets one iommufd object for its lifetime.
 *
 * <p>The fds cannot come from the host: they are L1's, so qmp-client's fd passing has no part
 * here; labtool does what the sidecar's host prep would do on a real host.
 */
@ExtendWith(VfioLabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IommufdLabIT {
  private static final String QEMU = "10.0";
  private static final String USER = "1000:1000";
  private static final String DEV = "mtty-fd";
  private static final String IOMMUFD = "iommufd0";
  private static final String SOCKET = "/run/lab/user/qmp";
  private static final int ROOT_SLOT = 1;
  private static final int IO_BASE = 0x8000;
  private static final int SCR = 7;
  private static final Pattern FDWATCH = Pattern.compile("fdwatch (gone|exited) realtime-us=(\\d+)");

  private static Vertx vertx;
  private static VfioLab lab;
  private static LabMdev mdev;
  private static LabL2 l2;

  @BeforeAll
  static void startUnprivilegedL2(VfioLab vfioLab) {
    lab = vfioLab;
    mdev = lab.mdev(2);
    vertx = Vertx.vertx();
    l2 = LabL2.start(vertx, lab, "user", QEMU, USER).awaitFirmware();
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
  void deviceDeletedComesBeforeQemuClosesTheDevicesDescriptor() {
    L1Shell l1 = lab.l1();
    l1.run("labtool fdwatch " + l2.pid + " " + mdev.cdevPath() + " 30000 > /tmp/fdwatch.out 2>&1 &");
    LabL2.until("fdwatch is ready", () -> l1.run("cat /tmp/fdwatch.out").contains("fdwatch ready count=1"));

    result(l2.qmp.execute("device_del", args().put("id", DEV)));
    result(l2.qmp.systemReset());
    QmpEvent deleted = l2.await("DEVICE_DELETED of " + DEV,
        e -> e.name().equals("DEVICE_DELETED") && DEV.equals(e.text("device")));
    LabL2.until("fdwatch saw the descriptor go", () -> FDWATCH.matcher(l1.run("cat /tmp/fdwatch.out")).find());

    Matcher m = FDWATCH.matcher(l1.run("cat /tmp/fdwatch.out"));
    assertThat(m.find()).isTrue();
    assertThat(m.group(1)).as("QEMU itself is still running").isEqualTo("gone");
    Instant fdGone = Instant.EPOCH.plus(Long.parseLong(m.group(2)), ChronoUnit.MICROS);
    long gapMicros = ChronoUnit.MICROS.between(deleted.timestamp(), fdGone);
    assertThat(l1.fdCount(l2.pid, mdev.cdevPath())).isZero();
    assertThat(l1.fdCount(l2.pid, "/dev/iommu")).as("the iommufd object still holds /dev/iommu").isEqualTo(1);
    System.out.printf("lab release: DEVICE_DELETED at %s, %s closed at %s: %+d us after the event%n",
        deleted.timestamp(), mdev.cdevPath(), fdGone, gapMicros);

    assertThat(gapMicros).as("the device's fd is closed after DEVICE_DELETED").isPositive();

    l2.execute("object-del", args().put("id", IOMMUFD));
    assertThat(result(l2.qmp.qomList("/objects"))).noneMatch(p -> p.name().equals(IOMMUFD));
    assertThat(l1.fdCount(l2.pid, "/dev/iommu"))
        .as("QEMU 10.0 never closes an iommufd fd it was given (it does not own it): one object per VM")
        .isEqualTo(1);
  }
}
