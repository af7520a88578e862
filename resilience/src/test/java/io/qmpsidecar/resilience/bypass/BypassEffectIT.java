package io.qmpsidecar.resilience.bypass;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.resilience.Figures;
import io.qmpsidecar.resilience.surface.QmpLine;
import io.qmpsidecar.resilience.surface.Strace;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bypass classes of issue 23 against real QEMU, through a sidecar with the default preset and
 * every way a non-administrator passes raw QMP: the proxy socket ({@code proxy:*}), the API's Unix
 * socket ({@code api:local}) and the API on TCP with a token ({@code api:ci}). Each request must be
 * denied by the policy, and have no effect on the host or on QEMU: strace attached to QEMU sees
 * none of the calls through which a request reaches the host (no file opened, no socket created,
 * connected or bound, no file unlinked, no program run), the test's listeners get no connection,
 * a victim file stays a file, QEMU's device list and migration state stay as they were, a
 * secret does not appear in any answer, and QEMU still answers its administrator at once. Then
 * the administrator sends the same kinds of requests to QEMU's own monitor and each check sees
 * the effect, so none of them could pass by seeing nothing.
 */
class BypassEffectIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private String secret;
  private ServerSocketChannel tcpListener;
  private ServerSocketChannel unixListener;
  private ServerSocketChannel cprListener;
  private int spdmPort;
  private ServerSocketChannel spdmListener;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    Await.result(vertx.close());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  /** A request and the VM it goes to; {@code {DIR}} and the listener placeholders are filled in. */
  private record Attempt(String kind, String vm, String qmp) {}

  private List<Attempt> hostReaching() {
    List<Attempt> a = new ArrayList<>();
    String[] devices = {
      "{\"driver\":\"virtio-input-host-pci\",\"id\":\"b1\",\"evdev\":\"{DIR}/evdev\",\"bus\":\"rp1\"}",
      "{\"driver\":\"vhost-vdpa-device-pci\",\"id\":\"b2\",\"vhostdev\":\"{DIR}/vhostdev\",\"bus\":\"rp1\"}",
      "{\"driver\":\"usb-mtp\",\"id\":\"b3\",\"rootdir\":\"{DIR}/share\",\"bus\":\"xhci.0\"}",
      "{\"driver\":\"nvme\",\"id\":\"b4\",\"serial\":\"s1\",\"spdm_port\":{SPDM},\"bus\":\"rp2\"}",
      "{\"driver\":\"ccid-card-emulated\",\"id\":\"b5\",\"backend\":\"certificates\",\"db\":\"{DIR}/nssdb\"}",
      "{\"driver\":\"vhost-vsock-pci\",\"id\":\"b6\",\"guest-cid\":5,\"bus\":\"rp1\"}",
      "{\"driver\":\"virtio-9p-pci\",\"id\":\"b7\",\"fsdev\":\"fs0\",\"mount_tag\":\"t\",\"bus\":\"rp1\"}",
      "{\"driver\":\"pc-dimm\",\"id\":\"b8\",\"memdev\":\"mem0\"}",
      "{\"driver\":\"virtio-blk-pci\",\"id\":\"b9\",\"drive\":\"disk0\",\"bus\":\"rp3\"}",
      "{\"driver\":\"virtio-net-pci\",\"id\":\"b10\",\"netdev\":\"net0\",\"bus\":\"rp3\"}",
      "{\"driver\":\"virtserialport\",\"id\":\"b11\",\"chardev\":\"file0\"}",
      "{\"driver\":\"usb-host\",\"id\":\"b12\",\"hostbus\":1,\"hostaddr\":1}",
      "{\"driver\":\"loader\",\"file\":\"/etc/shadow\",\"addr\":4096}",
      "{\"driver\":\"vfio-pci\",\"id\":\"b13\",\"host\":\"0000:00:1f.2\",\"bus\":\"rp1\"}",
      "{\"driver\":\"vfio-pci\",\"id\":\"b14\",\"sysfsdev\":\"/sys/devices/pci0000:00/0000:00:1f.2\",\"bus\":\"rp1\"}",
    };
    for (String d : devices) {
      a.add(new Attempt("device_add", "vm1", "{\"execute\":\"device_add\",\"arguments\":" + d + "}"));
    }
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:{TCP}\"}}"));
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:{DIR}/listen.sock\"}}"));
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:touch {DIR}/executed\"}}"));
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"file:{DIR}/ram\"}}"));
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate\",\"arguments\":{\"channels\":["
        + "{\"channel-type\":\"main\",\"addr\":{\"transport\":\"socket\",\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"{TCP}\"}},"
        + "{\"channel-type\":\"cpr\",\"addr\":{\"transport\":\"socket\",\"type\":\"unix\",\"path\":\"{DIR}/cpr.sock\"}}]}}"));
    a.add(new Attempt("migrate", "vm1", "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"mode\":\"cpr-transfer\"}}"));
    a.add(new Attempt("migrate", "vm2", "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:{DIR}/victim\"}}"));
    a.add(new Attempt("migrate", "vm2", "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:{TCP}\"}}"));
    a.add(new Attempt("qom", "vm1", "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/sec0\",\"property\":\"data\"}}"));
    a.add(new Attempt("qom", "vm1", "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"sec0\",\"property\":\"data\"}}"));
    a.add(new Attempt("qom", "vm1", "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}"));
    a.add(new Attempt("device_del", "vm1", "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"nic0\"}}"));
    a.add(new Attempt("device_del", "vm1", "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"/machine/peripheral/nic0\"}}"));
    return a;
  }

  private static List<Attempt> crashesAndHangs() {
    return List.of(
        new Attempt("introspection", "vm1", "{\"execute\":\"qom-list-properties\",\"arguments\":{\"typename\":\"colo-compare\"}}"),
        new Attempt("introspection", "vm1", "{\"execute\":\"qom-list-properties\",\"arguments\":{\"typename\":\"x-remote-object\"}}"),
        new Attempt("introspection", "vm1", "{\"execute\":\"qom-list-properties\",\"arguments\":{\"typename\":\"memory-region-portio-list\"}}"),
        new Attempt("introspection", "vm1", "{\"execute\":\"device-list-properties\",\"arguments\":{\"typename\":\"virtio-gpu-gl-pci\"}}"),
        new Attempt("introspection", "vm1", "{\"execute\":\"qom-list-types\",\"arguments\":{\"abstract\":true}}"),
        new Attempt("hang", "vm1", "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"ivshmem-doorbell\",\"id\":\"h1\",\"chardev\":\"hang0\",\"bus\":\"rp1\"}}"),
        new Attempt("hang", "vm1", "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vhost-user-blk-pci\",\"id\":\"h2\",\"chardev\":\"hang0\",\"bus\":\"rp2\"}}"));
  }

  @QemuTest
  void hostReachingRequestsAreDeniedAndReachNothing(QemuBinary binary) throws Exception {
    prepareHost();
    QemuProcess vm1 = start(binary, "vm1", 4, "-device", "qemu-xhci,id=xhci",
        "-device", "e1000e,id=nic0,bus=rp4",
        "-object", "secret,id=sec0,data=" + secret,
        "-object", "memory-backend-file,id=mem0,mem-path=" + dir.resolve("mem") + ",size=2M,share=on",
        "-fsdev", "local,id=fs0,path=" + dir.resolve("share") + ",security_model=none",
        "-blockdev", "driver=file,node-name=disk0,filename=" + dir.resolve("mem"),
        "-netdev", "hubport,id=net0,hubid=0",
        "-chardev", "file,id=file0,path=" + dir.resolve("chardev.out"));
    QemuProcess vm2 = start(binary, "vm2", 1, "-incoming", "defer");
    List<PassthroughChannel> channels = startSidecar(vm1, vm2);
    QmpLine admin1 = admin("vm1");
    QmpLine admin2 = admin("vm2");
    List<String> devicesBefore = peripheral(admin1);
    JsonNode parametersBefore = ok(admin1, "{\"execute\":\"query-migrate-parameters\"}");

    List<Attempt> attempts = hostReaching();
    List<String> problems = new ArrayList<>();
    long tried = 0;
    Strace trace1 = Strace.attach(vm1.pid(), dir.resolve("vm1.strace"));
    Strace trace2 = Strace.attach(vm2.pid(), dir.resolve("vm2.strace"));
    cleanup.add(trace1);
    cleanup.add(trace2);
    for (PassthroughChannel channel : channels) {
      for (Attempt attempt : attempts) {
        tried++;
        PassthroughChannel.Answer answer = channel.send(attempt.vm(), fill(attempt.qmp()));
        if (!answer.deniedByPolicy()) {
          problems.add(channel.name() + " " + attempt.qmp() + " was not denied by the policy: " + answer.text());
        }
        if (answer.text().contains(secret)) {
          problems.add(channel.name() + " " + attempt.qmp() + " returned the secret: " + answer.text());
        }
      }
    }
    stillAnswers(admin1, "vm1");
    stillAnswers(admin2, "vm2");
    List<String> calls = new ArrayList<>(trace1.stop());
    calls.addAll(trace2.stop());
    // QEMU reads this setting for its own memory mappings (util/mmap-alloc.c), whoever asks what;
    // a CI run saw it once in this window. Reading it reaches nothing.
    calls.removeIf(call -> call.contains("openat(AT_FDCWD, \"/proc/sys/vm/overcommit_memory\", O_RDONLY|O_CLOEXEC)"));
    assertThat(calls).as("system calls QEMU made while non-administrators sent host-reaching requests").isEmpty();
    assertThat(accepted(tcpListener)).as("connections to the caller's TCP listener").isZero();
    assertThat(accepted(unixListener)).as("connections to the caller's Unix listener").isZero();
    assertThat(accepted(cprListener)).as("connections to the caller's cpr listener").isZero();
    assertThat(accepted(spdmListener)).as("connections to the SPDM port").isZero();
    assertThat(Files.readString(dir.resolve("victim"))).as("the victim file of migrate-incoming").isEqualTo("precious\n");
    assertThat(Files.exists(dir.resolve("executed"))).as("exec: ran").isFalse();
    assertThat(Files.exists(dir.resolve("ram"))).as("file: written").isFalse();
    assertThat(ok(admin1, "{\"execute\":\"query-migrate-parameters\"}")).as("migration parameters").isEqualTo(parametersBefore);
    assertThat(ok(admin1, "{\"execute\":\"query-migrate\"}").path("status").asText("none"))
        .as("vm1's migration").isIn("none", "");
    ok(admin1, "{\"execute\":\"system_reset\"}");
    assertThat(peripheral(admin1)).as("vm1's devices after a reset completed any pending unplug").isEqualTo(devicesBefore);
    assertThat(vm1.isAlive() && vm2.isAlive()).isTrue();
    Figures.record(Figures.Section.BYPASS, "host-reaching requests through proxy and API, effects (QEMU "
        + binary.version() + ")", tried, tried - problems.size());
    assertThat(problems).isEmpty();

    administratorSeesEachEffect(binary, vm1, admin1, admin2);
  }

  /** The controls: the same kinds of requests from the administrator reach the host. */
  private void administratorSeesEachEffect(QemuBinary binary, QemuProcess vm1, QmpLine admin1, QmpLine admin2)
      throws Exception {
    Strace trace = Strace.attach(vm1.pid(), dir.resolve("admin.strace"));
    cleanup.add(trace);
    admin1.call(fill("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-input-host-pci\",\"id\":\"b1\",\"evdev\":\"{DIR}/evdev\",\"bus\":\"rp1\"}}"), WAIT);
    admin1.call("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"vhost-vsock-pci\",\"id\":\"b6\",\"guest-cid\":5,\"bus\":\"rp2\"}}", WAIT);
    ok(admin1, fill("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:{TCP}\"}}"));
    Await.until("the administrator's migration connects", () -> accepted(tcpListener) > 0);
    List<String> calls = trace.stop();
    assertThat(calls).as("the administrator's evdev").anyMatch(l -> l.contains(dir.resolve("evdev").toString()));
    assertThat(calls).as("the administrator's vhost-vsock").anyMatch(l -> l.contains("/dev/vhost-vsock"));
    assertThat(calls).as("the administrator's migration").anyMatch(l -> l.contains("connect("));
    admin1.call("{\"execute\":\"migrate_cancel\"}", WAIT);
    // migrate_cancel returns at once; QEMU refuses device_del until the migration is cancelled,
    // which takes a while on a loaded machine.
    Await.until("the administrator's migration is cancelled", () -> !List.of("setup", "active", "cancelling")
        .contains(ok(admin1, "{\"execute\":\"query-migrate\"}").path("status").asText()));
    assertThat(ok(admin1, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"sec0\",\"property\":\"data\"}}").asText())
        .isEqualTo(secret);
    ok(admin2, fill("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:{DIR}/victim\"}}"));
    assertThat(Files.readAttributes(dir.resolve("victim"), PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
        .isOther()).as("migrate-incoming unix:<file> replaced the file by a socket").isTrue();
    if (binary.major() >= 10) {
      ok(admin1, "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"mode\":\"cpr-transfer\"}}");
      assertThat(ok(admin1, "{\"execute\":\"query-migrate-parameters\"}").path("mode").asText()).isEqualTo("cpr-transfer");
    }
    admin1.call("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"nic0\"}}", WAIT);
    ok(admin1, "{\"execute\":\"system_reset\"}");
    Await.until("the administrator's device_del removed nic0", () -> !peripheral(admin1).contains("nic0"));
  }

  @QemuTest
  void introspectionThatCrashesAndDevicesThatHangQemuAreDenied(QemuBinary binary) throws Exception {
    prepareHost();
    QemuProcess vm1 = start(binary, "vm1", 3, "-chardev",
        "socket,id=hang0,path=" + dir.resolve("hang.sock") + ",server=on,wait=off");
    List<PassthroughChannel> channels = startSidecar(vm1, null);
    QmpLine admin1 = admin("vm1");
    List<String> problems = new ArrayList<>();
    long tried = 0;
    for (PassthroughChannel channel : channels) {
      for (Attempt attempt : crashesAndHangs()) {
        tried++;
        PassthroughChannel.Answer answer = channel.send(attempt.vm(), attempt.qmp());
        if (!answer.deniedByPolicy()) {
          problems.add(channel.name() + " " + attempt.qmp() + " was not denied by the policy: " + answer.text());
        }
        if (!vm1.isAlive()) {
          problems.add(channel.name() + " " + attempt.qmp() + " killed QEMU");
          break;
        }
        stillAnswers(admin1, "vm1");
      }
    }
    Figures.record(Figures.Section.BYPASS, "introspection crashes and hanging devices through proxy and API (QEMU "
        + binary.version() + ")", tried, tried - problems.size());
    assertThat(problems).isEmpty();

    QemuProcess crash = start(binary, "crash", 1);
    QmpLine crashAdmin = admin("crash");
    String colo = "{\"execute\":\"qom-list-properties\",\"arguments\":{\"typename\":\"colo-compare\"}}";
    if (binary.major() >= 11) {
      // QEMU 11 answers the introspection that aborted 7.2 and 10.0; the presets deny it all the same.
      assertThat(crashAdmin.call(colo, WAIT).has("return")).as("QEMU %s answers it", binary.version()).isTrue();
      assertThat(crash.isAlive()).isTrue();
    } else {
      try {
        crashAdmin.call(colo, WAIT);
      } catch (IllegalStateException e) {
        // the connection closed or the answer never came: QEMU died, as the check below expects
      }
      Await.until("the administrator's qom-list-properties colo-compare kills QEMU", () -> !crash.isAlive());
    }

    QemuProcess hang = start(binary, "hang", 1, "-chardev",
        "socket,id=hang0,path=" + dir.resolve("hang2.sock") + ",server=on,wait=off");
    QmpLine hangAdmin = admin("hang");
    QmpLine second = QmpLine.connect(dir.resolve("hang.qmp"), WAIT);
    cleanup.add(second);
    hangAdmin.send("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"ivshmem-doorbell\",\"id\":\"h1\",\"chardev\":\"hang0\",\"bus\":\"rp1\"}}");
    assertThat(hangs(hangAdmin)).as("the administrator's ivshmem-doorbell on an unconnected chardev never answers").isTrue();
    second.send("{\"execute\":\"query-status\"}");
    assertThat(hangs(second)).as("and QEMU's main loop answers no other monitor").isTrue();
    hang.kill();
  }

  private static boolean hangs(QmpLine line) {
    try {
      line.reply(Duration.ofSeconds(2));
      return false;
    } catch (QmpLine.QmpTimeout e) {
      return true;
    }
  }

  private void prepareHost() throws IOException {
    secret = "s3cr3t-" + UUID.randomUUID();
    Files.write(dir.resolve("mem"), new byte[2 << 20]);
    Files.createDirectories(dir.resolve("share"));
    Files.writeString(dir.resolve("victim"), "precious\n");
    tcpListener = listen(ServerSocketChannel.open(StandardProtocolFamily.INET), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    unixListener = listen(ServerSocketChannel.open(StandardProtocolFamily.UNIX), UnixDomainSocketAddress.of(dir.resolve("listen.sock")));
    cprListener = listen(ServerSocketChannel.open(StandardProtocolFamily.UNIX), UnixDomainSocketAddress.of(dir.resolve("cpr.sock")));
    spdmListener = listen(ServerSocketChannel.open(StandardProtocolFamily.INET), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    spdmPort = ((InetSocketAddress) spdmListener.getLocalAddress()).getPort();
  }

  private ServerSocketChannel listen(ServerSocketChannel channel, java.net.SocketAddress at) throws IOException {
    channel.bind(at);
    channel.configureBlocking(false);
    cleanup.add(channel);
    return channel;
  }

  /** Connections accepted so far on a listener (each is closed at once). */
  private static int accepted(ServerSocketChannel listener) {
    int n = 0;
    try {
      java.nio.channels.SocketChannel c;
      while ((c = listener.accept()) != null) {
        c.close();
        n++;
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return n;
  }

  private String fill(String qmp) throws IOException {
    return qmp.replace("{DIR}", dir.toString())
        .replace("{TCP}", Integer.toString(((InetSocketAddress) tcpListener.getLocalAddress()).getPort()))
        .replace("{SPDM}", Integer.toString(spdmPort));
  }

  private QemuProcess start(QemuBinary binary, String name, int rootPorts, String... extra) {
    List<String> args = new ArrayList<>(List.of(extra));
    args.addAll(List.of("-qmp", "unix:" + dir.resolve(name + "-admin.qmp") + ",server=on,wait=off"));
    QemuProcess qemu = QemuProcess.startQtest(binary, dir, name, rootPorts, args.toArray(new String[0]));
    cleanup.add(qemu);
    return qemu;
  }

  /** The administrator's own monitor of a VM (the second -qmp of {@link #start}). */
  private QmpLine admin(String name) {
    Path socket = dir.resolve(name + "-admin.qmp");
    // QEMU binds the socket file before it listens (and QemuProcess waits for the other monitor).
    Await.until(name + "'s administrator monitor listens", () -> QemuProcess.listening(socket));
    QmpLine line = QmpLine.connect(socket, WAIT);
    cleanup.add(line);
    return line;
  }

  /** A sidecar with the default preset; returns the proxy and the two API ways in. */
  private List<PassthroughChannel> startSidecar(QemuProcess vm1, QemuProcess vm2) throws Exception {
    Path tokens = Files.setPosixFilePermissions(Files.writeString(dir.resolve("tokens"), "ci:" + TOKEN + "\n"),
        PosixFilePermissions.fromString("rw-------"));
    List<String> vms = new ArrayList<>(List.of("vm1=" + vm1.qmpAddress()));
    if (vm2 != null) {
      vms.add("vm2=" + vm2.qmpAddress());
    }
    Sidecar sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy"), "api.tcp=127.0.0.1:0",
        "api.tokensFile=" + tokens), vms), Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    assertThat(sidecar.policy().policy().source()).isEqualTo("preset:default");
    List<PassthroughChannel> channels = List.of(
        PassthroughChannel.proxy(dir.resolve("proxy")),
        PassthroughChannel.api(vertx, "api socket", dir.resolve("api.sock"), 0, null),
        PassthroughChannel.api(vertx, "api tcp", null, sidecar.api().tcpPort(), TOKEN));
    channels.forEach(cleanup::add);
    for (String vm : vm2 == null ? List.of("vm1") : List.of("vm1", "vm2")) {
      Await.until(vm + " is ready", () -> channels.get(1)
          .send(vm, "{\"execute\":\"query-status\"}").text().startsWith("200"));
      Await.until(vm + "'s proxy socket exists", () -> Files.exists(dir.resolve("proxy/" + vm + ".qmp")));
    }
    return channels;
  }

  /** The VM answers its administrator: nothing hangs its main loop (a hang is for ever, so WAIT is plenty). */
  private static void stillAnswers(QmpLine admin, String vm) {
    assertThat(admin.call("{\"execute\":\"query-status\"}", WAIT).has("return"))
        .as("%s answers query-status", vm).isTrue();
  }

  private static JsonNode ok(QmpLine admin, String qmp) {
    JsonNode reply = admin.call(qmp, WAIT);
    assertThat(reply.has("return")).as("%s answered %s", qmp, reply).isTrue();
    return reply.get("return");
  }

  /** The ids under /machine/peripheral, root ports included, sorted. */
  private static List<String> peripheral(QmpLine admin) {
    List<String> ids = new ArrayList<>();
    ok(admin, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}").forEach(p -> {
      if (p.path("type").asText().startsWith("child<")) {
        ids.add(p.path("name").asText());
      }
    });
    return ids.stream().sorted().toList();
  }
}
