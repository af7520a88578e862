package io.qmpsidecar.sidecar.libvirt;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.libvirt.DomainXml;
import io.qmpsidecar.libvirt.testing.LibvirtDaemon;
import io.qmpsidecar.libvirt.testing.LibvirtExtension;
import io.qmpsidecar.libvirt.testing.TestDomain;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The sidecar serving a domain of a real private libvirtd through libvirt's APIs only: attach
 * and detach through the API with completion on libvirt's device-removed, events on the SSE
 * stream, virsh's own attach-device and detach-device on the same domain, no taint, libvirtd
 * restarted under the sidecar (reconnect and reconcile, the device kept), and the DPU on the relay
 * seeing the domain, its device and the device's removal as for a QMP VM. The stand-in function is
 * an emulated NIC ({@code <interface>}); no IOMMU here.
 */
class LibvirtBackendIT {
  @RegisterExtension static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(1);
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private static final Duration WAIT = Duration.ofSeconds(60);

  @QemuTest
  void attachDetachEventsAndVirshSideBySideWithoutTaint(QemuBinary qemu) throws Exception {
    LibvirtDaemon daemon = LIBVIRT.daemon();
    daemon.createDomain(TestDomain.xml("web1", LIBVIRT.emulator(qemu), 3, 64), false);
    DpuEndpoint dpu = result(DpuEndpoint.listen(harness.vertx(), DpuEndpointOptions.defaults().withPort(0)));
    harness.track(() -> result(dpu.close()));
    List<ReceivedNotification> heard = new CopyOnWriteArrayList<>();
    dpu.notificationHandler(heard::add);
    TestConfig config = harness.config().libvirtVm("web1", daemon.uri(), "web1", false).detachWait(Duration.ofMillis(500))
        .flowTestPolicy().relay("ws://127.0.0.1:" + dpu.actualPort(), "host-1");
    harness.startReady(config);
    Await.until("the DPU link is up", () -> dpu.connectedHosts().contains("host-1"));
    assertThat(result(dpu.request("host-1", "vm.list", Map.of())).toString()).contains("web1");
    // As for a QMP VM: the DPU's detach of a device the domain does not have is refused, not run.
    Throwable unknown = failure(dpu.request("host-1", "device.detach",
        Map.of("opId", "d-none", "vm", "web1", "deviceId", "dpu-none")));
    assertThat(unknown).isInstanceOfSatisfying(RelayErrorException.class,
        e -> assertThat(e.error().code()).isEqualTo(ErrorCode.NOT_FOUND));
    ApiTestClient api = harness.api();
    Buffer sse = Buffer.buffer();
    api.stream(api.options(HttpMethod.GET, "/v1/events?vm=web1"), sse::appendBuffer);

    Reply vms = api.call(HttpMethod.GET, "/v1/vms", null);
    assertThat(vms.body().get(0).path("libvirt").path("domain").asText()).isEqualTo("web1");
    assertThat(vms.body().get(0).path("state").asText()).isEqualTo("ready");
    assertThat(api.call(HttpMethod.GET, "/v1/vms/web1", null).body().path("status").asText()).isEqualTo("running");

    Reply attached = api.call(HttpMethod.POST, "/v1/vms/web1/devices",
        "{\"driver\":\"virtio-net-pci\",\"id\":\"dpu-nic1\",\"opId\":\"op-lv-1\"}");
    assertThat(attached.status()).as("%s", attached.body()).isEqualTo(201);
    String port = attached.body().path("rootPort").asText();
    assertThat(port).startsWith("pci.");
    String xml = daemon.virsh("dumpxml", "web1").ok().out();
    assertThat(xml).contains("ua-dpu-nic1");
    assertThat(DomainXml.parse(xml).addressOf("ua-dpu-nic1")).isPresent();
    Reply again = api.call(HttpMethod.POST, "/v1/vms/web1/devices",
        "{\"driver\":\"virtio-net-pci\",\"id\":\"dpu-nic1\",\"opId\":\"op-lv-1\"}");
    assertThat(again.body().path("rootPort").asText()).as("a repeated attach is the same attachment").isEqualTo(port);
    assertThat(result(dpu.request("host-1", "device.list", Map.of("vm", "web1"))).toString()).contains("dpu-nic1");
    Reply mdev = api.call(HttpMethod.POST, "/v1/vms/web1/devices", "{\"mdev\":\"88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10\"}");
    assertThat(mdev.status()).as("%s", mdev.body()).isEqualTo(400);
    assertThat(mdev.body().path("detail").asText()).contains("managed by libvirt", "<hostdev type='mdev'>");

    // libvirt's own tools still work on the same domain, beside the sidecar's device.
    Path nic = harness.dir().resolve("virsh-nic.xml");
    Files.writeString(nic, "<interface type='user'><model type='virtio'/><alias name='ua-virsh1'/></interface>");
    daemon.virsh("attach-device", "web1", nic.toString(), "--live").ok();
    assertThat(DomainXml.parse(daemon.virsh("dumpxml", "web1").ok().out()).addressOf("ua-virsh1")).isPresent()
        .get().satisfies(a -> assertThat(a.bus()).isNotEqualTo(DomainXml.parse(xml).addressOf("ua-dpu-nic1").get().bus()));

    Reply detach = api.call(HttpMethod.DELETE, "/v1/vms/web1/devices/dpu-nic1", null);
    assertThat(detach.status()).as("no guest acks the unplug: pending").isEqualTo(202);
    assertThat(detach.body().path("outcome").asText()).isEqualTo("PENDING");
    Reply repeated = api.call(HttpMethod.DELETE, "/v1/vms/web1/devices/dpu-nic1", null);
    assertThat(repeated.body().path("outcome").asText()).isEqualTo("PENDING");
    daemon.virsh("reset", "web1").ok();
    Await.until("device.detached on the SSE stream", () -> sse.toString().contains("\"type\":\"device.detached\""));
    assertThat(api.call(HttpMethod.GET, "/v1/vms/web1/devices", null).body()).isEmpty();
    assertThat(daemon.virsh("dumpxml", "web1").ok().out()).doesNotContain("ua-dpu-nic1");
    assertThat(sse.toString()).contains("attach.verified", "detach.unplug-requested", "detach.pending",
        "qmp.DEVICE_DELETED", "libvirt.device-removed");
    assertThat(sse.toString().lines().filter(l -> l.contains("\"type\":\"attach.verified\"")).findFirst())
        .as("a QMP VM's members, guestAddress null").get().asString()
        .contains("\"alias\":\"ua-dpu-nic1\"", "\"guestAddress\":null", "\"migrationBlockedReasons\":");
    Await.until("the DPU heard the removal", () -> heard.stream().anyMatch(n -> n.method().equals("device.deleted")
        && "web1".equals(n.params().get("vm")) && "dpu-nic1".equals(n.params().get("device"))));

    // libvirt's detach of its own device completes on the same reset path; the sidecar reports, never touches it.
    assertThat(daemon.virsh("detach-device-alias", "web1", "ua-virsh1", "--live").exitCode()).isZero();
    assertThat(api.call(HttpMethod.DELETE, "/v1/vms/web1/devices/absent", null).body().path("outcome").asText())
        .isEqualTo("NOT_FOUND");
    // A detach libvirt refuses (a root port cannot be unplugged) fails, and says so on the stream.
    Reply refused = api.call(HttpMethod.DELETE, "/v1/vms/web1/devices/" + port, null);
    assertThat(refused.status()).as("%s", refused.body()).isGreaterThanOrEqualTo(400);
    Await.until("detach.failed on the SSE stream", () -> sse.toString().contains("\"type\":\"detach.failed\""));
    assertThat(daemon.virsh("dumpxml", "web1").ok().out()).contains("<alias name='" + port + "'/>");

    Reply qmp = api.call(HttpMethod.POST, "/v1/vms/web1/qmp", "{\"execute\":\"query-status\"}");
    assertThat(qmp.status()).isEqualTo(409);
    assertThat(qmp.body().path("type").asText()).contains("libvirt-passthrough-off");

    // libvirtd restarts under the sidecar: it reconnects, re-registers, reconciles; its device stays.
    assertThat(api.call(HttpMethod.POST, "/v1/vms/web1/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-nic2\"}")
        .status()).isEqualTo(201);
    daemon.stopLibvirtd();
    daemon.startLibvirtd();
    Await.until("reconciled after libvirtd came back", () -> sse.toString().contains("\"type\":\"libvirt.reconnected\"")
        && sse.toString().indexOf("\"type\":\"reconcile.done\"", sse.toString().indexOf("\"type\":\"libvirt.reconnected\"")) > 0);
    assertThat(api.call(HttpMethod.GET, "/v1/vms/web1/devices", null).body()).hasSize(1);
    assertThat(sse.toString()).doesNotContain("drift.device-missing");
    Await.until("the VM is ready again", () -> api.call(HttpMethod.GET, "/v1/vms", null).body().get(0)
        .path("state").asText().equals("ready"));

    String dominfo = daemon.virsh("dominfo", "web1").ok().out();
    assertThat(dominfo).doesNotContainIgnoringCase("taint");
    assertThat(daemon.qemuLog("web1")).doesNotContain("tainted");
  }

  /**
   * The state store's disk fills between an attach and its detach (a 2 MiB tmpfs, as the
   * resilience module's StoreFaultIT does for a QMP VM): an attach then fails before it changes
   * the domain (its intent is stored first), a removal is watched all the same,
   * device.detached is published when libvirt reports device-removed, saying it is not recorded,
   * and once there is room the record follows the domain. Needs root (mount), as the CI runs.
   */
  @QemuTest
  void aRemovalTheStoreCannotRecordIsWatchedAndPublishedAllTheSame(QemuBinary qemu) throws Exception {
    LibvirtDaemon daemon = LIBVIRT.daemon();
    daemon.createDomain(TestDomain.xml("store1", LIBVIRT.emulator(qemu), 2, 64), false);
    Path state = Files.createDirectories(harness.dir().resolve("small-state"));
    run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state.toString());
    harness.track(() -> run("umount", "-l", state.toString()));
    harness.startReady(harness.config().stateDir(state).libvirtVm("store1", daemon.uri(), "store1", false)
        .detachWait(Duration.ofMillis(500)).flowTestPolicy());
    ApiTestClient api = harness.api();
    Buffer sse = Buffer.buffer();
    api.stream(api.options(HttpMethod.GET, "/v1/events?vm=store1&type=device.detached"), sse::appendBuffer);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/store1/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-nic1\"}")
        .status()).isEqualTo(201);
    Path filler = state.resolve("filler");
    try (OutputStream out = Files.newOutputStream(filler)) {
      byte[] block = new byte[64 * 1024];
      for (int i = 0; i < 64; i++) {
        out.write(block);
      }
    } catch (IOException full) {
      assertThat(full).hasMessageContaining("No space left");
    }

    Reply full = api.call(HttpMethod.POST, "/v1/vms/store1/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-nic2\"}");
    assertThat(full.status()).as("an attach whose intent cannot be stored: %s", full.body()).isGreaterThanOrEqualTo(500);
    assertThat(daemon.virsh("dumpxml", "store1").ok().out()).as("nothing was added").doesNotContain("ua-dpu-nic2");

    Reply detach = api.call(HttpMethod.DELETE, "/v1/vms/store1/devices/dpu-nic1", null);
    assertThat(detach.status()).as("no guest acks the unplug: %s", detach.body()).isEqualTo(202);
    assertThat(detach.body().path("detail").asText()).contains("could not record the pending removal");
    daemon.virsh("reset", "store1").ok();
    Await.until("device.detached, saying it is not recorded", () -> sse.toString().contains("\"id\":\"dpu-nic1\"")
        && sse.toString().contains("\"recorded\":false"));
    Files.delete(filler);

    Await.until("the record follows the domain once there is room",
        () -> api.call(HttpMethod.GET, "/v1/vms/store1/devices", null).body().isEmpty());
  }

  /**
   * Two attaches the sidecar stopped in the middle of, their intents stored (as the flow stores
   * each before it changes anything): the one libvirt had made is adopted, the one it had not is
   * abandoned, and neither is reported as a device the sidecar does not know.
   */
  @QemuTest
  void interruptedAttachesAreAdoptedOrAbandonedAtTheFirstReconcile(QemuBinary qemu) throws Exception {
    LibvirtDaemon daemon = LIBVIRT.daemon();
    daemon.createDomain(TestDomain.xml("crash1", LIBVIRT.emulator(qemu), 2, 64), false);
    Path nic = harness.dir().resolve("made.xml");
    Files.writeString(nic, "<interface type='user'><model type='e1000e'/><alias name='ua-made'/></interface>");
    daemon.virsh("attach-device", "crash1", nic.toString(), "--live").ok();
    TestConfig config = harness.config().libvirtVm("crash1", daemon.uri(), "crash1", false).flowTestPolicy();
    Files.createDirectories(config.stateDir());
    StateStore store = result(StateStore.open(harness.vertx(), config.stateDir().resolve(StateStore.FILE_NAME)));
    result(store.put(intent("made")));
    result(store.put(intent("never")));
    result(store.close());

    harness.startReady(config);
    ApiTestClient api = harness.api();
    Buffer sse = Buffer.buffer();
    api.stream(api.options(HttpMethod.GET, "/v1/events?vm=crash1&since=0"), sse::appendBuffer);

    Await.until("both attaches settled on the event stream", () -> sse.toString().contains("\"type\":\"attach.adopted\"")
        && sse.toString().contains("\"type\":\"attach.abandoned\""));
    Reply devices = api.call(HttpMethod.GET, "/v1/vms/crash1/devices", null);
    assertThat(devices.body()).as("%s", devices.body()).hasSize(1);
    assertThat(devices.body().get(0).path("id").asText()).isEqualTo("made");
    assertThat(devices.body().get(0).path("state").asText()).isEqualToIgnoringCase("attached");
    assertThat(sse.toString()).doesNotContain("drift.device-unknown");
  }

  /** The intent an attach of an emulated stand-in stores before it asks libvirt. */
  private static Attachment intent(String id) {
    return new Attachment("crash1", id, "e1000e", null, "pci.1", JsonNodeFactory.instance.objectNode()
        .put("driver", "e1000e").put("id", id).put("bus", "pci.1"), false, null, null, List.of(),
        AttachmentState.ATTACHING, "op-" + id, "api:local");
  }

  /** Runs a tool the test needs (mount, umount) and fails naming it when it does not succeed. */
  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("%s finished", String.join(" ", command)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
  }
}
