package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.libvirt.testing.LibvirtDaemon;
import io.qmpsidecar.libvirt.testing.LibvirtExtension;
import io.qmpsidecar.libvirt.testing.TestDomain;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Live migration between two private libvirtd instances on this machine (each with its own
 * host UUID, the destination also on loopback TCP): peer-to-peer with migrateToURI3 there, a
 * managed migration back, the events and job statistics on both ends, and what libvirt refuses.
 */
class LibvirtMigrationIT {
  @RegisterExtension
  static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(2);

  private static final Duration WAIT = Duration.ofSeconds(60);
  private LibvirtClient source;
  private LibvirtClient destination;
  private final Events sourceEvents = new Events();
  private final Events destinationEvents = new Events();

  @BeforeEach
  void connect() throws Exception {
    source = LibvirtClient.connect(LibvirtClientOptions.of(LIBVIRT.daemon(0).uri())).get(30, TimeUnit.SECONDS);
    destination = LibvirtClient.connect(LibvirtClientOptions.of(LIBVIRT.daemon(1).uri())).get(30, TimeUnit.SECONDS);
    source.addListener(sourceEvents);
    destination.addListener(destinationEvents);
  }

  @AfterEach
  void close() throws Exception {
    source.close().get(30, TimeUnit.SECONDS);
    destination.close().get(30, TimeUnit.SECONDS);
  }

  private static MigrationOptions loopback() {
    return MigrationOptions.live().withMigrateUri("tcp://127.0.0.1").withListenAddress("127.0.0.1");
  }

  @QemuTest
  void migratesPeerToPeerThereAndManagedBackWithTheDevice(QemuBinary qemu) throws Exception {
    LibvirtDaemon from = LIBVIRT.daemon(0);
    LibvirtDaemon to = LIBVIRT.daemon(1);
    from.createDomain(TestDomain.xml("mig", LIBVIRT.emulator(qemu), 2, 64), false);
    DomainRef dom = source.lookup("mig").get(30, TimeUnit.SECONDS);
    DomainXml.RootPort port = DomainXml.parse(source.liveXml(dom).get(30, TimeUnit.SECONDS)).freeRootPorts().get(0);
    source.attachDevice(dom, TestDomain.userNic("ua-dpu-m", "52:54:00:00:40:01", port.slotAddress().toXml()))
        .get(30, TimeUnit.SECONDS);

    long t0 = System.nanoTime();
    source.migrateToUri3(dom, to.tcpUri(), loopback()).get(120, TimeUnit.SECONDS);
    long p2pMs = (System.nanoTime() - t0) / 1_000_000;

    LibvirtEvent.JobCompleted job = sourceEvents.await(LibvirtEvent.JobCompleted.class, e -> e.domain().equals(dom), WAIT);
    assertThat(job.job().operation()).contains(JobInfo.Operation.MIGRATION_OUT);
    assertThat(job.job().number("data_total")).isPresent().get().satisfies(n -> assertThat(n).isPositive());
    assertThat(sourceEvents.await(LibvirtEvent.MigrationIteration.class, e -> e.domain().equals(dom), WAIT).iteration())
        .isPositive();
    assertThat(sourceEvents.await(LibvirtEvent.Lifecycle.class,
        e -> e.type() == LibvirtEvent.LifecycleType.STOPPED, WAIT).migrated()).isTrue();
    assertThat(destinationEvents.await(LibvirtEvent.Lifecycle.class,
        e -> e.type() == LibvirtEvent.LifecycleType.RESUMED, WAIT).migrated()).isTrue();
    assertThat(from.virsh("list", "--name").ok().out()).doesNotContain("mig");

    DomainRef there = destination.lookup("mig").get(30, TimeUnit.SECONDS);
    assertThat(there.uuid()).isEqualTo(dom.uuid());
    assertThat(destination.state(there).get(30, TimeUnit.SECONDS)).isEqualTo(DomainState.RUNNING);
    assertThat(DomainXml.parse(destination.liveXml(there).get(30, TimeUnit.SECONDS)).addressOf("ua-dpu-m"))
        .contains(port.slotAddress());
    JobInfo incoming = destination.completedJobInfo(there).get(30, TimeUnit.SECONDS);
    assertThat(incoming.type()).isEqualTo(JobInfo.Type.COMPLETED);
    assertThat(incoming.operation()).contains(JobInfo.Operation.MIGRATION_IN);

    t0 = System.nanoTime();
    DomainRef back = destination.migrate(there, source, loopback()).get(120, TimeUnit.SECONDS);
    long managedMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(back.uuid()).isEqualTo(dom.uuid());
    assertThat(source.state(back).get(30, TimeUnit.SECONDS)).isEqualTo(DomainState.RUNNING);
    assertThat(DomainXml.parse(source.liveXml(back).get(30, TimeUnit.SECONDS)).hasAlias("ua-dpu-m")).isTrue();
    System.out.printf("%s: p2p migration %d ms, managed migration back %d ms (64 MiB TCG guest)%n", qemu, p2pMs, managedMs);

    for (LibvirtDaemon d : new LibvirtDaemon[] {from, to}) {
      assertThat(d.qemuLog("mig")).contains("starting up libvirt").doesNotContain("tainted");
    }
    assertThat(source.messages(back).get(30, TimeUnit.SECONDS)).noneMatch(m -> m.contains("taint"));
  }

  @QemuTest
  void refusesWhatLibvirtRefuses(QemuBinary qemu) throws Exception {
    LIBVIRT.daemon(0).createDomain(TestDomain.xml("self", LIBVIRT.emulator(qemu), 1, 64), false);
    DomainRef dom = source.lookup("self").get(30, TimeUnit.SECONDS);
    assertThatThrownBy(() -> source.migrateToUri3(dom, LIBVIRT.daemon(0).tcpUri(), loopback()).get(60, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LibvirtErrorException.class,
            e -> assertThat(e.libvirtMessage()).contains("Attempt to migrate guest to the same host"));
    assertThatThrownBy(() -> source.migrateToUri3(dom, LIBVIRT.daemon(1).uri(), loopback()).get(60, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(LibvirtErrorException.class,
            e -> assertThat(e.libvirtMessage()).contains("Attempt to migrate guest to the same host"));
    assertThatThrownBy(() -> source.migrate(dom, destination, loopback().withFlag(MigrationFlag.PEER2PEER)).get())
        .cause().isInstanceOf(IllegalArgumentException.class);
    assertThat(source.state(dom).get(30, TimeUnit.SECONDS)).isEqualTo(DomainState.RUNNING);
  }
}
