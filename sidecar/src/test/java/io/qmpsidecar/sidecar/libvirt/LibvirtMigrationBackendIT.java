package io.qmpsidecar.sidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.qmpsidecar.libvirt.testing.LibvirtDaemon;
import io.qmpsidecar.libvirt.testing.LibvirtExtension;
import io.qmpsidecar.libvirt.testing.TestDomain;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A coordinated migration of a libvirt VM between two private libvirtd (each its own host UUID),
 * driven through the sidecar's API: the stand-in function is unplugged (its pending removal
 * completed by a reset, as a guest would), the domain migrates with libvirt's managed migration,
 * the function is attached again on the destination; the steps reach the SSE stream; a
 * destination on the same libvirtd, and strategy {@code auto}, are refused before anything changes.
 */
class LibvirtMigrationBackendIT {
  @RegisterExtension static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(2);
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void unplugMigrateReplugBetweenTwoLibvirtd(QemuBinary qemu) throws Exception {
    LibvirtDaemon from = LIBVIRT.daemon(0);
    LibvirtDaemon to = LIBVIRT.daemon(1);
    TestConfig config = srcAndDst(qemu, "mig").libvirtVm("same", from.uri(), "mig", false);
    Sidecar sidecar = harness.start(config);
    ApiTestClient api = harness.api();
    Await.until("src is ready", () -> api.call(HttpMethod.GET, "/v1/vms/src", null).status() == 200);
    // No guest answers the unplug: reset the domain when its removal is pending, as a guest's hotplug driver would ack it.
    ExecutorService guest = harness.track(new Closer(Executors.newSingleThreadExecutor())).executor;
    EventSubscription sub = sidecar.events().subscribe(e -> e.type().equals(EventTypes.DETACH_PENDING), 8,
        e -> guest.execute(() -> from.virsh("reset", "mig")));
    harness.track(sub::cancel);
    Buffer sse = Buffer.buffer();
    api.stream(api.options(HttpMethod.GET, "/v1/events?type=migration.*,device.detached,attach.verified"),
        sse::appendBuffer);

    Reply attached = api.call(HttpMethod.POST, "/v1/vms/src/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-m\"}");
    assertThat(attached.status()).as("%s", attached.body()).isEqualTo(201);

    Reply same = api.call(HttpMethod.POST, "/v1/vms/src/migrations",
        "{\"destination\":\"same\",\"uri\":\"tcp:127.0.0.1:49152\"}");
    assertThat(same.status()).isEqualTo(409);
    assertThat(same.body().path("detail").asText()).contains("same libvirtd");
    Reply auto = api.call(HttpMethod.POST, "/v1/vms/src/migrations",
        "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1\",\"strategy\":\"auto\"}");
    assertThat(auto.status()).isEqualTo(409);
    assertThat(auto.body().path("detail").asText()).contains("strategy auto needs QEMU's blocked-reasons");

    Reply started = api.call(HttpMethod.POST, "/v1/vms/src/migrations",
        "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1\",\"strategy\":\"unplug-replug\"}");
    assertThat(started.status()).as("%s", started.body()).isEqualTo(202);
    Reply run = api.call(HttpMethod.GET, "/v1/vms/src/migration", null);
    // A managed migration of a running TCG domain takes 5-8 s on a loaded 2-core machine (docs/libvirt.md).
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (!java.util.Set.of("COMPLETED", "FAILED", "ROLLED_BACK").contains(run.body().path("state").asText())
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
      run = api.call(HttpMethod.GET, "/v1/vms/src/migration", null);
    }
    if (run.body().path("error").asText().contains("Parameter 'detach' is unexpected")) {
      // libvirt 9.0 cannot migrate QEMU 11 (docs/libvirt.md): the rollback must still put the device back.
      assertThat(run.body().path("state").asText()).as("%s", run.body()).isEqualTo("ROLLED_BACK");
      Await.until("the device is back on the source", () -> from.virsh("dumpxml", "mig").ok().out().contains("ua-dpu-m"));
      assertThat(api.call(HttpMethod.GET, "/v1/vms/src/devices", null).body()).hasSize(1);
      assumeFalse(true, "this libvirtd sends migrate's 'detach', which QEMU 11 removed: it cannot migrate QEMU "
          + qemu.version() + "; the rollback was checked");
    }
    assertThat(run.body().path("state").asText()).as("%s", run.body()).isEqualTo("COMPLETED");

    assertThat(to.virsh("dumpxml", "mig").ok().out()).contains("ua-dpu-m");
    assertThat(from.virsh("list", "--name").ok().out()).doesNotContain("mig");
    assertThat(api.call(HttpMethod.GET, "/v1/vms/dst/devices", null).body()).hasSize(1);
    assertThat(api.call(HttpMethod.GET, "/v1/vms/src/devices", null).body()).isEmpty();
    Await.until("the steps are on the stream", () -> sse.toString().contains("\"step\":\"attached\""));
    assertThat(sse.toString()).contains("\"type\":\"device.detached\"", "\"state\":\"completed\"", "\"status\":\"completed\"");
    assertThat(to.virsh("dominfo", "mig").ok().out()).doesNotContainIgnoringCase("taint");
  }

  /**
   * A cancel while the functions are being detached: the run stops before libvirt's job starts and
   * rolls back, the function attached again on the source, the domain still there. Before, the
   * cancel was answered and the domain migrated once the detach completed.
   */
  @QemuTest
  void aCancelWhileTheFunctionsAreDetachedStopsTheRunBeforeLibvirtsJob(QemuBinary qemu) throws Exception {
    LibvirtDaemon from = LIBVIRT.daemon(0);
    LibvirtDaemon to = LIBVIRT.daemon(1);
    Sidecar sidecar = harness.start(srcAndDst(qemu, "mc"));
    ApiTestClient api = harness.api();
    Await.until("src is ready", () -> api.call(HttpMethod.GET, "/v1/vms/src", null).status() == 200);
    // The removal is pending until the stand-in guest resets: the cancel comes first, then the reset.
    ExecutorService guest = harness.track(new Closer(Executors.newSingleThreadExecutor())).executor;
    java.util.List<Integer> cancels = new java.util.concurrent.CopyOnWriteArrayList<>();
    EventSubscription sub = sidecar.events().subscribe(e -> e.type().equals(EventTypes.DETACH_PENDING), 8,
        e -> guest.execute(() -> {
          cancels.add(api.call(HttpMethod.DELETE, "/v1/vms/src/migration", null).status());
          from.virsh("reset", "mc");
        }));
    harness.track(sub::cancel);
    Reply attached = api.call(HttpMethod.POST, "/v1/vms/src/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-c\"}");
    assertThat(attached.status()).as("%s", attached.body()).isEqualTo(201);

    Reply started = api.call(HttpMethod.POST, "/v1/vms/src/migrations",
        "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1\",\"strategy\":\"unplug-replug\"}");
    assertThat(started.status()).as("%s", started.body()).isEqualTo(202);
    Reply run = api.call(HttpMethod.GET, "/v1/vms/src/migration", null);
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (!java.util.Set.of("COMPLETED", "FAILED", "ROLLED_BACK", "CANCELLED").contains(run.body().path("state").asText())
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
      run = api.call(HttpMethod.GET, "/v1/vms/src/migration", null);
    }

    assertThat(cancels).as("the cancel, answered while the function was being detached").hasSize(1)
        .allMatch(status -> status < 300);
    assertThat(run.body().path("state").asText()).as("%s", run.body()).isIn("CANCELLED", "ROLLED_BACK");
    Await.until("the function is back on the source", () -> from.virsh("dumpxml", "mc").ok().out().contains("ua-dpu-c"));
    assertThat(from.virsh("list", "--name").ok().out()).as("the domain did not migrate").contains("mc");
    assertThat(to.virsh("list", "--name").ok().out()).doesNotContain("mc");
  }

  /** The domain {@code domain} created on the first libvirtd, as VM src, and as VM dst on the second. */
  private static TestConfig srcAndDst(QemuBinary qemu, String domain) throws IOException {
    LIBVIRT.daemon(0).createDomain(TestDomain.xml(domain, LIBVIRT.emulator(qemu), 2, 64), false);
    return harness.config().libvirtVm("src", LIBVIRT.daemon(0).uri(), domain, false)
        .libvirtVm("dst", LIBVIRT.daemon(1).uri(), domain, false)
        .detachWait(Duration.ofMillis(300)).flowTestPolicy().set("migration.destinations", "tcp:127.0.0.1");
  }

  /** Shuts the stand-in guest's thread down after the test. */
  private record Closer(ExecutorService executor) implements AutoCloseable {
    @Override
    public void close() {
      executor.shutdownNow();
    }
  }
}
