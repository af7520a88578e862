package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.libvirt.testing.LibvirtExtension;
import io.qmpsidecar.libvirt.testing.TestDomain;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Device hot-plug through libvirt's APIs on a real libvirtd, per QEMU: attach on a free root
 * port from the live XML, detach by alias with completion on device-removed, libvirt's own
 * attach/detach beside ours, errors, and no taint anywhere.
 */
class LibvirtDevicesIT {
  @RegisterExtension
  static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(1);

  private static final Duration WAIT = Duration.ofSeconds(30);
  private LibvirtClient client;
  private final Events events = new Events();

  @AfterEach
  void closeClient() throws Exception {
    if (client != null) {
      client.close().get(30, TimeUnit.SECONDS);
    }
  }

  private DomainRef start(QemuBinary qemu, String name, boolean paused, boolean qemuEvents) throws Exception {
    long t0 = System.nanoTime();
    LIBVIRT.daemon().createDomain(TestDomain.xml(name, LIBVIRT.emulator(qemu), 4, 64), paused);
    System.out.printf("%s: domain %s started (%s) in %d ms; libvirtd started in %d ms%n", qemu, name,
        paused ? "paused" : "running", (System.nanoTime() - t0) / 1_000_000, LIBVIRT.daemon().lastStartMillis());
    client = LibvirtClient.connect(LibvirtClientOptions.of(LIBVIRT.daemon().uri()).withQemuMonitorEvents(qemuEvents))
        .get(30, TimeUnit.SECONDS);
    client.addListener(events);
    return client.lookup(name).get(30, TimeUnit.SECONDS);
  }

  @QemuTest
  void attachesOnAFreeRootPortAndDetachCompletesOnDeviceRemoved(QemuBinary qemu) throws Exception {
    DomainRef dom = start(qemu, "devices", true, false);
    assertThat(client.state(dom).get(30, TimeUnit.SECONDS)).isEqualTo(DomainState.PAUSED);

    DomainXml before = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS));
    assertThat(before.rootPorts()).hasSize(4);
    DomainXml.RootPort port = before.freeRootPorts().get(0);

    long t0 = System.nanoTime();
    client.attachDevice(dom, TestDomain.userNic("ua-dpu-1", "52:54:00:00:10:01", port.slotAddress().toXml()))
        .get(30, TimeUnit.SECONDS);
    long attachMs = (System.nanoTime() - t0) / 1_000_000;

    DomainXml after = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS));
    assertThat(after.addressOf("ua-dpu-1")).contains(port.slotAddress());
    assertThat(after.deviceKind("ua-dpu-1")).contains("interface");
    assertThat(after.freeRootPorts()).doesNotContain(port);
    assertThat(LIBVIRT.daemon().virsh("dumpxml", "devices").ok().out()).contains("<alias name='ua-dpu-1'/>");

    t0 = System.nanoTime();
    client.detachDeviceAlias(dom, "ua-dpu-1").get(30, TimeUnit.SECONDS);
    long detachRequestMs = (System.nanoTime() - t0) / 1_000_000;
    // No guest answers the hot-unplug request: the removal stays pending, the device stays.
    Thread.sleep(1000);
    assertThat(events.snapshot()).noneMatch(e -> e instanceof LibvirtEvent.DeviceRemoved);
    assertThat(DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).hasAlias("ua-dpu-1")).isTrue();

    // A reset completes a pending PCIe unplug (QEMU removes the device at system reset).
    t0 = System.nanoTime();
    client.reset(dom).get(30, TimeUnit.SECONDS);
    LibvirtEvent.DeviceRemoved removed = events.await(LibvirtEvent.DeviceRemoved.class,
        e -> e.alias().equals("ua-dpu-1"), WAIT);
    long removedMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(removed.domain()).isEqualTo(dom);
    assertThat(DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).hasAlias("ua-dpu-1")).isFalse();
    System.out.printf("%s: attach %d ms, detach request %d ms, reset to device-removed %d ms%n",
        qemu, attachMs, detachRequestMs, removedMs);

    assertNotTainted("devices", dom);
  }

  @QemuTest
  void libvirtsOwnAttachAndDetachStillWorkBesideOurs(QemuBinary qemu) throws Exception {
    DomainRef dom = start(qemu, "beside", false, false);
    DomainXml.RootPort port = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).freeRootPorts().get(0);
    client.attachDevice(dom, TestDomain.userNic("ua-dpu-2", "52:54:00:00:10:02", port.slotAddress().toXml()))
        .get(30, TimeUnit.SECONDS);

    // virsh attach-device without an address: libvirt picks a free port, not ours.
    Path nic = Files.createTempFile("nic", ".xml");
    try {
      Files.writeString(nic, TestDomain.userNic("ua-virsh-1", "52:54:00:00:20:01", ""));
      LIBVIRT.daemon().virsh("attach-device", "beside", nic.toString(), "--live").ok();
      DomainXml both = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS));
      assertThat(both.addressOf("ua-dpu-2")).contains(port.slotAddress());
      assertThat(both.addressOf("ua-virsh-1")).isPresent().get().isNotEqualTo(port.slotAddress());
      events.await(LibvirtEvent.DeviceAdded.class, e -> e.alias().equals("ua-virsh-1"), WAIT);

      // virsh detach-device asks for the removal; without a guest it stays pending until reset.
      LIBVIRT.daemon().virsh("detach-device", "beside", nic.toString(), "--live").ok();
    } finally {
      Files.deleteIfExists(nic);
    }
    client.detachDeviceAlias(dom, "ua-dpu-2").get(30, TimeUnit.SECONDS);
    client.reset(dom).get(30, TimeUnit.SECONDS);
    events.await(LibvirtEvent.DeviceRemoved.class, e -> e.alias().equals("ua-virsh-1"), WAIT);
    events.await(LibvirtEvent.DeviceRemoved.class, e -> e.alias().equals("ua-dpu-2"), WAIT);
    DomainXml none = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS));
    assertThat(none.aliases()).doesNotContain("ua-dpu-2", "ua-virsh-1");
    assertThat(none.freeRootPorts()).hasSize(4);
    assertNotTainted("beside", dom);
  }

  @QemuTest
  void reportsLibvirtsErrors(QemuBinary qemu) throws Exception {
    DomainRef dom = start(qemu, "errors", true, false);
    DomainXml.RootPort port = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).freeRootPorts().get(0);
    client.attachDevice(dom, TestDomain.userNic("ua-dpu-3", "52:54:00:00:10:03", port.slotAddress().toXml()))
        .get(30, TimeUnit.SECONDS);

    assertThatThrownBy(() -> client.attachDevice(dom,
        TestDomain.userNic("ua-dpu-4", "52:54:00:00:10:04", port.slotAddress().toXml())).get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).cause().isInstanceOf(LibvirtErrorException.class)
        .hasMessageContaining("attach device of errors");
    assertThatThrownBy(() -> client.detachDeviceAlias(dom, "ua-none").get(30, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LibvirtErrorException.class, e -> {
          // libvirt 9.0 reports a missing alias as an internal error, not VIR_ERR_DEVICE_MISSING.
          assertThat(e.code()).isEqualTo(LibvirtErrorException.INTERNAL_ERROR);
          assertThat(e.codeName()).isEqualTo("VIR_ERR_INTERNAL_ERROR");
          assertThat(e.libvirtMessage()).contains("no device found with alias ua-none");
        });
    assertThatThrownBy(() -> client.lookup("no-such-domain").get(30, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LibvirtErrorException.class,
            e -> assertThat(e.code()).isEqualTo(LibvirtErrorException.NO_DOMAIN));
    assertNotTainted("errors", dom);
  }

  @QemuTest
  void qemuMonitorEventsArriveWithoutTaintingTheDomain(QemuBinary qemu) throws Exception {
    DomainRef dom = start(qemu, "monitor", false, true);
    LIBVIRT.daemon().virsh("suspend", "monitor").ok();
    events.await(LibvirtEvent.QemuMonitorEvent.class, e -> e.event().equals("STOP") && e.domain().equals(dom), WAIT);
    events.await(LibvirtEvent.Lifecycle.class,
        e -> e.type() == LibvirtEvent.LifecycleType.SUSPENDED && e.domain().equals(dom), WAIT);
    LIBVIRT.daemon().virsh("resume", "monitor").ok();
    LibvirtEvent.QemuMonitorEvent resume = events.await(LibvirtEvent.QemuMonitorEvent.class,
        e -> e.event().equals("RESUME"), WAIT);
    assertThat(resume.seconds()).isPositive();
    events.await(LibvirtEvent.Lifecycle.class, e -> e.type() == LibvirtEvent.LifecycleType.RESUMED, WAIT);
    assertNotTainted("monitor", dom);
  }

  private void assertNotTainted(String name, DomainRef dom) throws Exception {
    assertThat(client.messages(dom).get(30, TimeUnit.SECONDS)).noneMatch(m -> m.contains("taint"));
    assertThat(LIBVIRT.daemon().virsh("dominfo", name).ok().out()).doesNotContain("taint");
    assertThat(LIBVIRT.daemon().qemuLog(name)).contains("starting up libvirt").doesNotContain("tainted");
  }
}
