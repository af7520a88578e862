package io.qmpsidecar.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  private Path file(String yaml) throws IOException {
    return Files.writeString(dir.resolve("qmp-sidecar.yaml"), yaml);
  }

  /** The problems of a refused configuration, without the FILE:LINE:COLUMN their keys have in {@code file}. */
  @SuppressWarnings("unchecked")
  private static List<String> unlocated(SidecarException e, Path file) {
    return ((List<String>) e.detail("problems")).stream()
        .map(p -> p.replaceFirst("^" + java.util.regex.Pattern.quote(file.toString()) + ":\\d+:\\d+: ", "")).toList();
  }

  /** A PEM file with one block of {@code kind}, e.g. CERTIFICATE; its contents are not a real certificate. */
  private Path pem(String name, String kind) throws IOException {
    return Files.writeString(dir.resolve(name), "-----BEGIN " + kind + "-----\nMIIB\n-----END " + kind + "-----\n");
  }

  @Test
  void defaultsApplyWhenNothingIsGiven() {
    SidecarConfig c = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    assertThat(c.vms()).isEmpty();
    assertThat(c.api().socket()).isEqualTo(Path.of("/run/qmp-sidecar/api.sock"));
    assertThat(c.api().tcpEnabled()).isFalse();
    assertThat(c.policy().preset()).isEqualTo("default");
    assertThat(c.timeouts().attach()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.relay().enabled()).isFalse();
    assertThat(c.events().replay()).isEqualTo(4096);
    assertThat(c.automation().maxActionsPerSecond()).isEqualTo(10);
    assertThat(c.automation().hooks()).isEmpty();
    assertThat(c.log()).isEqualTo(new SidecarConfig.Log("auto", null));
  }

  @Test
  void theAuditFileIsAnAbsolutePathInAnExistingDirectory() {
    Path audit = dir.resolve("audit.json");
    assertThat(ConfigLoader.load(null, Map.of("QMP_SIDECAR_LOG_AUDIT_FILE", audit.toString()), List.of(), List.of())
        .log().auditFile()).isEqualTo(audit);
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("log.auditFile=audit.json",
        "log.format=json"), List.of())).isInstanceOfSatisfying(SidecarException.class,
            e -> assertThat((List<String>) e.detail("problems")).containsExactly("log.auditFile: 'audit.json' must be"
                + " an absolute path, e.g. /var/log/qmp-sidecar/audit.json"));
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("log.auditFile=" + dir.resolve("no/audit.json")),
        List.of())).isInstanceOfSatisfying(SidecarException.class,
            e -> assertThat((List<String>) e.detail("problems")).containsExactly("log.auditFile: " + dir.resolve("no")
                + " is not a directory; create it (writable by the daemon) or choose another file"));
  }

  @Test
  void hooksAreBoundWithTheirDefaults() throws IOException {
    Path program = Files.createFile(dir.resolve("hook"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
    Path f = file("""
        events:
          replay: 100
        automation:
          maxPerSecond: 3
        hooks:
          - name: record
            events: [qmp.DEVICE_DELETED, "detach.*"]
            run: [%1$s, --to, /var/log/x]
          - name: approve
            prepare: [attach, migrate]
            vms: [vm1]
            run: [%1$s]
            timeout: 2s
            concurrency: 2
            queue: 0
        """.formatted(program));
    SidecarConfig c = ConfigLoader.load(f, Map.of(), List.of("events.replay=200"), List.of());
    assertThat(c.events().replay()).isEqualTo(200);
    assertThat(c.automation().maxActionsPerSecond()).isEqualTo(3);
    assertThat(c.automation().hooks()).containsExactly(
        new SidecarConfig.Hook("record", List.of("qmp.DEVICE_DELETED", "detach.*"), List.of(), List.of(),
            List.of(program.toString(), "--to", "/var/log/x"), Duration.ofSeconds(10), 1, 16),
        new SidecarConfig.Hook("approve", List.of(), List.of("attach", "migrate"), List.of("vm1"),
            List.of(program.toString()), Duration.ofSeconds(2), 2, 0));
  }

  @Test
  void everyProblemOfAHookIsReported() throws IOException {
    Files.writeString(dir.resolve("not-executable"), "#!/bin/sh\n");
    Path f = file("""
        events:
          replay: 0
        automation:
          maxPerSecond: lots
        hooks:
          - name: a
            events: [qmp.STOP]
            prepare: [attach]
            run: [relative/program]
          - name: a
            run: [%s]
            concurrency: 99
            queue: -1
            timeout: 11m
            retries: 3
          - name: b
            events: ["bad type!"]
            prepare: [reboot]
        """.formatted(dir.resolve("not-executable")));
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(unlocated(e, f)).containsExactlyInAnyOrder(
            "events.replay: '0' must be a whole number from 1 to 100000",
            "automation.maxPerSecond: 'lots' must be a whole number from 1 to 1000",
            "hooks[0]: give either events (the hook runs on those events) or prepare (it runs before those operations"
                + " and may refuse them), not both",
            "hooks[0].run: 'relative/program' must be an absolute path to the program",
            "hooks[1].retries: unknown key; a hook has concurrency, events, name, prepare, queue, run, timeout, vms",
            "hooks[1]: give either events (the hook runs on those events) or prepare (it runs before those operations"
                + " and may refuse them), not neither",
            "hooks[1].run: " + dir.resolve("not-executable") + " is not an executable file; install it or chmod +x it",
            "hooks[1].timeout: 11m is over the most, 10m",
            "hooks[1].concurrency: 99 must be a whole number from 1 to 16",
            "hooks[1].queue: -1 must be a whole number from 0 to 1024",
            "hooks[2].events[0]: \"bad type!\" is not an event type such as qmp.DEVICE_DELETED or device.detached,"
                + " a prefix such as qmp.*, or *",
            "hooks[2].prepare[0]: \"reboot\" is not attach, detach, migrate or live-update",
            "hooks[2]: give either events (the hook runs on those events) or prepare (it runs before those operations"
                + " and may refuse them), not both",
            "hooks[2].run: required: the program and its arguments, e.g. [/etc/qmp-sidecar/hooks/notify]"));
  }

  @Test
  void theFileThenEnvironmentThenFlagsWin() throws IOException {
    Path f = file("""
        version: 1
        vms:
          - name: vm1
            qmp: unix:/run/qemu/vm1.qmp
        api:
          socket: /from/file.sock
        timeouts:
          detach: 2m
        policy:
          preset: dpu
        """);
    SidecarConfig c = ConfigLoader.load(f, Map.of("QMP_SIDECAR_API_SOCKET", "/from/env.sock",
        "QMP_SIDECAR_TIMEOUTS_ATTACH", "500ms", "QMP_SIDECAR_POLICY_PRESET", "default"),
        List.of("api.socket=/from/flag.sock"), List.of("vm2=tcp:127.0.0.1:4444"));
    assertThat(c.vms()).containsExactly(new SidecarConfig.Vm("vm1", QmpAddress.parse("unix:/run/qemu/vm1.qmp")),
        new SidecarConfig.Vm("vm2", QmpAddress.tcp("127.0.0.1", 4444)));
    assertThat(c.api().socket()).isEqualTo(Path.of("/from/flag.sock"));
    assertThat(c.timeouts().attach()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.timeouts().detach()).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.policy().preset()).isEqualTo("default");
  }

  @Test
  void libvirtVmsStandBesideQmpVmsAndDiscoveryNamesAUri() throws IOException {
    Path f = file("""
        vms:
          - name: vm1
            qmp: unix:/run/qemu/vm1.qmp
          - name: web1
            libvirt: {uri: qemu:///system, domain: instance-0001, passthrough: true}
          - name: web2
            libvirt: {uri: 'qemu+tcp://127.0.0.1:16509/system', managed: true}
        libvirt:
          uri: qemu:///system
          metadata: http://openstack.org/xmlns/libvirt/nova/1.1
        """);
    SidecarConfig c = ConfigLoader.load(f, Map.of(), List.of(), List.of());
    assertThat(c.vms()).containsExactly(new SidecarConfig.Vm("vm1", QmpAddress.parse("unix:/run/qemu/vm1.qmp")),
        new SidecarConfig.Vm("web1", null, new SidecarConfig.Libvirt("qemu:///system", "instance-0001", true, false)),
        new SidecarConfig.Vm("web2", null,
            new SidecarConfig.Libvirt("qemu+tcp://127.0.0.1:16509/system", "web2", false, true)));
    assertThat(c.libvirt()).isEqualTo(new SidecarConfig.LibvirtDiscovery("qemu:///system",
        "http://openstack.org/xmlns/libvirt/nova/1.1"));
  }

  @Test
  void aLibvirtVmIsCheckedWhole() throws IOException {
    Path f = file("""
        vms:
          - name: a
            qmp: unix:/a
            libvirt: {uri: qemu:///system}
          - name: b
            libvirt: {uri: /not/a/uri}
          - name: c
            libvirt: {uri: qemu:///system, passthrough: maybe, typo: 1}
        libvirt:
          metadata: urn:x
        """);
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), List.of(), List.of()))
        .isInstanceOf(SidecarException.class)
        .hasMessageContaining("vms[0]: set either qmp or libvirt")
        .hasMessageContaining("vms[1].libvirt.uri: '/not/a/uri' must be a libvirt URI")
        .hasMessageContaining("vms[2].libvirt.passthrough: 'maybe' must be true or false")
        .hasMessageContaining("vms[2].libvirt.typo: unknown key")
        .hasMessageContaining("libvirt.metadata: set libvirt.uri too");
  }

  @Test
  void aBareQmpAddressNamesTheVmAfterItsSocket() {
    SidecarConfig c = ConfigLoader.load(null, Map.of(), List.of(), List.of("unix:/run/qemu/web-1.qmp"));
    assertThat(c.vms()).extracting(SidecarConfig.Vm::name).containsExactly("web-1");
  }

  @Test
  void everyProblemIsReportedWithItsKey() throws IOException {
    Path f = file("""
        version: 2
        vms:
          - name: vm1
            qmp: ftp://nope
          - name: vm1
            qmp: unix:/a
          - name: "bad name"
            qmp: unix:/b
        api:
          tcp: 127.0.0.1:8080
          sockt: /typo
        log:
          format: xml
        relay:
          url: wss://dpu:4443/relay
        """);
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems")).containsExactly(
            f + ":1:1: version: 2 is not supported; this qmp-sidecar reads version 1",
            f + ":4:5: vms[0].qmp: QMP address 'ftp://nope' must be unix:PATH or tcp:HOST:PORT",
            f + ":5:5: vms[1].name: 'vm1' is used twice; VM names must be unique",
            f + ":7:5: vms[2].name: 'bad name' must be 1-64 letters, digits, '.', '_' or '-', the first a letter or"
                + " digit",
            f + ":10:3: api.tcp: set, but api.tokensFile is not: a TCP API requires bearer tokens; set"
                + " api.tokensFile to a file of NAME:TOKEN lines, mode 600",
            f + ":11:3: api.sockt: unknown key; known keys: vms, " + String.join(", ", ConfigLoader.KEYS.keySet()),
            f + ":13:3: log.format: 'xml' must be auto, human or json",
            // Keys the file does not write are placed at the mapping that lacks them, in the order found.
            f + ":14:1: relay.hostId: required when relay.url is set (the DPU knows this host by it)",
            f + ":14:1: relay.cert: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)",
            f + ":14:1: relay.key: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)",
            f + ":14:1: relay.ca: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)"));
  }

  @Test
  void theRelaysOptionsAreCheckedAsTheRelayChecksThemAtStart() throws IOException {
    Path ok = file("""
        relay:
          url: ws://127.0.0.1:7000/dpu
          hostId: host-1
          maxMessageBytes: 65536
          heartbeatInterval: 2s
          heartbeatTimeout: 6s
          executorTimeout: 90s
          syncEveryCommit: false
        """);
    RelayHostOptions o = ConfigLoader.load(ok, Map.of(), List.of(), List.of()).relay().options();
    assertThat(o.dpuHost()).isEqualTo("127.0.0.1");
    assertThat(o.dpuPort()).isEqualTo(7000);
    assertThat(o.path()).isEqualTo("/dpu");
    assertThat(o.maxMessageBytes()).isEqualTo(65536);
    assertThat(o.heartbeatInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(o.heartbeatTimeout()).isEqualTo(Duration.ofSeconds(6));
    assertThat(o.executorTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(o.syncEveryCommit()).isFalse();
    assertThat(o.maxInFlightRequests()).isEqualTo(RelayHostOptions.DEFAULT_MAX_IN_FLIGHT_REQUESTS);

    Path bad = file("""
        relay:
          url: ws://dpu.example:7000/relay
          hostId: host-1
          maxInFlightRequests: none
          heartbeatInterval: 20s
          heartbeatTimeout: 10s
        """);
    assertThatThrownBy(() -> ConfigLoader.load(bad, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(unlocated(e, bad))
            .anySatisfy(p -> assertThat(p).startsWith("relay.url: DPU endpoint dpu.example is not a loopback address"))
            .hasSize(1));
    Path local = Files.writeString(dir.resolve("local.yaml"), Files.readString(bad).replace("dpu.example", "127.0.0.1"));
    assertThatThrownBy(() -> ConfigLoader.load(local, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(unlocated(e, local))
            .contains("relay.maxInFlightRequests: 'none' is not a positive whole number")
            .anySatisfy(p -> assertThat(p).startsWith("relay: ").contains("heartbeat")).hasSize(2));
  }

  @Test
  void iommufdIsAutoUnlessTurnedOffAndTheReleaseBoundIsThirtySecondsUnlessSet() throws IOException {
    SidecarConfig defaults = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    assertThat(defaults.host().iommufd()).isTrue();
    assertThat(defaults.timeouts().release()).isEqualTo(Duration.ofSeconds(30));

    Path set = file("""
        host:
          iommufd: "off"
        timeouts:
          release: 5s
        """);
    SidecarConfig c = ConfigLoader.load(set, Map.of(), List.of(), List.of());
    assertThat(c.host().iommufd()).isFalse();
    assertThat(c.timeouts().release()).isEqualTo(Duration.ofSeconds(5));
    assertThat(ConfigLoader.load(set, Map.of("QMP_SIDECAR_HOST_IOMMUFD", "auto"), List.of(), List.of()).host().iommufd())
        .isTrue();

    Path bad = file("""
        host:
          iommufd: "yes"
        """);
    assertThatThrownBy(() -> ConfigLoader.load(bad, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(unlocated(e, bad))
            .singleElement().asString().startsWith("host.iommufd: 'yes' must be auto"));
  }

  @Test
  void thePolicysValueSetsAreListsInTheFormTheRulesCompare() throws IOException {
    Path ok = file("""
        migration:
          destinations: ["tcp:10.0.0.2:4444", "unix:/run/migrate/vm1"]
        hotplug:
          allowedPfs: ["0000:03:00.0"]
          vendorDevices: ["15b3:101e"]
        host:
          vfioDrivers: [mlx5_vfio_pci]
        """);
    Map<String, List<String>> sets = ConfigLoader.load(ok, Map.of(), List.of("hotplug.bdfPatterns=0000:03:*,0000:04:*"),
        List.of()).policy().valueSets();
    assertThat(sets).containsEntry("migration.destinations", List.of("tcp:10.0.0.2:4444", "unix:/run/migrate/vm1"))
        .containsEntry("hotplug.allowedPfs", List.of("0000:03:00.0"))
        .containsEntry("hotplug.vendorDevices", List.of("15b3:101e"))
        .containsEntry("hotplug.bdfPatterns", List.of("0000:03:*", "0000:04:*"))
        .containsEntry("hotplug.mdevTypes", List.of())
        .containsEntry("hostprep.variantDrivers", List.of("mlx5_vfio_pci"));

    Path bad = file("""
        migration:
          destinations: ["exec:cat > /tmp/vm"]
        hotplug:
          allowedPfs: ["03:00.0"]
        """);
    assertThatThrownBy(() -> ConfigLoader.load(bad, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(unlocated(e, bad))
            .containsExactlyInAnyOrder(
                "migration.destinations: 'exec:cat > /tmp/vm' is not a migration URI tcp:HOST:PORT, unix:PATH or"
                    + " rdma:HOST:PORT",
                "hotplug.allowedPfs: '03:00.0' is not a PCI address DDDD:BB:DD.F"));
  }

  @Test
  void aTokensFileOthersCanReadIsRefusedAsSshRefusesALooseKey() throws IOException {
    Path tokens = Files.writeString(dir.resolve("tokens"), "ops:0123456789abcdef0123456789abcdef\n");
    List<String> tcp = List.of("api.tcp=127.0.0.1:8080", "api.tokensFile=" + tokens);
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), tcp, List.of()))
        .hasMessageContaining("api.tokensFile: " + tokens + " is open to others (mode rw-r--r--)")
        .hasMessageContaining("chmod 600");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-rw----"));
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), tcp, List.of())).hasMessageContaining("is open to others");

    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-r-----"));
    assertThat(ConfigLoader.load(null, Map.of(), tcp, List.of()).api().tokensFile()).isEqualTo(tokens);
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    assertThat(ConfigLoader.load(null, Map.of(), tcp, List.of()).api().tokensFile()).isEqualTo(tokens);

    Files.delete(tokens);
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), tcp, List.of()))
        .hasMessageContaining("api.tokensFile: " + tokens + " does not exist");
  }

  @Test
  void aTcpApiBeyondLoopbackNeedsTls() throws IOException {
    Path tokens = Files.writeString(dir.resolve("tokens"), "ops:0123456789abcdef0123456789abcdef\n");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    for (String host : List.of("0.0.0.0", "10.0.0.5", "[::]", "host.example")) {
      assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("api.tcp=" + host + ":8080",
          "api.tokensFile=" + tokens), List.of()))
          .hasMessageContaining("api.tcp: " + host + ":8080 is not a loopback address and api.tls is not set");
    }
    for (String host : List.of("127.0.0.1", "127.1.2.3", "localhost", "[::1]")) {
      assertThat(ConfigLoader.load(null, Map.of(), List.of("api.tcp=" + host + ":8080", "api.tokensFile=" + tokens),
          List.of()).api().tcpPort()).isEqualTo(8080);
    }
    Path cert = pem("api.pem", "CERTIFICATE");
    Path key = pem("api.key", "PRIVATE KEY");
    assertThat(ConfigLoader.load(null, Map.of(), List.of("api.tcp=0.0.0.0:8443", "api.tokensFile=" + tokens,
        "api.tls.cert=" + cert, "api.tls.key=" + key), List.of()).api().tcpPort()).isEqualTo(8443);
  }

  @Test
  void aMissingOrBrokenFileSaysSo() throws IOException {
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("none.yaml"), Map.of(), List.of(), List.of()))
        .hasMessageContaining("none.yaml").hasMessageContaining("no such file");
    Path broken = file("stateDir: /var/lib/x\napi: [unclosed");
    assertThatThrownBy(() -> ConfigLoader.load(broken, Map.of(), List.of(), List.of()))
        .hasMessageContaining(broken + ":2:").hasMessageContaining("not valid YAML");
    Path list = file("- stateDir: /var/lib/x\n");
    assertThatThrownBy(() -> ConfigLoader.load(list, Map.of(), List.of(), List.of()))
        .hasMessageContaining("the file must be a YAML mapping of keys");
    Path commentsOnly = file("# every key commented out: the defaults\n# stateDir: /var/lib/x\n");
    assertThat(ConfigLoader.load(commentsOnly, Map.of(), List.of(), List.of()).stateDir())
        .isEqualTo(Path.of("/var/lib/qmp-sidecar"));
  }

  @Test
  void aKeyTwiceInAMappingIsRefusedWithItsLine() throws IOException {
    Path twice = file("api:\n  socket: /run/a.sock\nstateDir: /var/lib/x\napi:\n  socket: /run/b.sock\n");
    assertThatThrownBy(() -> ConfigLoader.load(twice, Map.of(), List.of(), List.of()))
        .hasMessageContaining(twice + ": 1 problem")
        .hasMessageContaining(twice + ":4:1: api: duplicate key 'api'");
    Path nested = file("proxy:\n  maxClients: 8\n  maxClients: 9\n");
    assertThatThrownBy(() -> ConfigLoader.load(nested, Map.of(), List.of(), List.of()))
        .hasMessageContaining(nested + ":3:3: proxy.maxClients: duplicate key 'maxClients'");
  }

  @Test
  void theRelaysOtherKeysAreCheckedWhileItIsOff() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("QMP_SIDECAR_RELAY_HEARTBEAT_INTERVAL", "soon"),
        List.of("relay.syncEveryCommit=yes", "relay.allowPlainRemote=1", "relay.maxMessageBytes=-1"), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems"))
            .containsExactlyInAnyOrder("relay.allowPlainRemote: '1' must be true or false",
                "relay.maxMessageBytes: '-1' is not a positive whole number",
                "relay.heartbeatInterval: 'soon' is not a positive duration; write e.g. 500ms, 30s or 2m",
                "relay.syncEveryCommit: 'yes' must be true or false"));
    assertThat(ConfigLoader.load(null, Map.of(), List.of("relay.syncEveryCommit=false"), List.of()).relay().options())
        .as("still off").isNull();
  }

  @Test
  void aVmOrAConsumerWithAKeyItDoesNotHaveIsRefused() throws IOException {
    Path f = file("""
        vms:
          - {name: vm1, qmp: unix:/run/vm1.qmp, qmpp: unix:/typo}
        proxy:
          consumers:
            vm1:
              - {name: backup, grop: backup}
        """);
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems"))
            .containsExactly(f + ":2:41: vms[0].qmpp: unknown key; a VM has name and qmp, or name and libvirt",
                f + ":6:24: proxy.consumers.vm1[0].grop: unknown key; a consumer has name and group"));
  }

  @Test
  void theProxysAccessKeysBindAndAreChecked() throws IOException {
    Path f = file("proxy:\n  groupAccess: true\n  maxClients: 8\n  callers:\n    \"uid:0\": admin\n"
        + "    \"group:ops\": ops\n  consumers:\n    vm1:\n      - {name: backup, group: backup}\n"
        + "      - {name: watcher}\n");
    SidecarConfig.Proxy p = ConfigLoader.load(f, Map.of("QMP_SIDECAR_PROXY_CLIENT_NAME", "scripts"),
        List.of(), List.of()).proxy();
    assertThat(p.groupAccess()).isTrue();
    assertThat(p.maxClients()).isEqualTo(8);
    assertThat(p.clientName()).isEqualTo("scripts");
    assertThat(p.callers()).containsExactlyInAnyOrderEntriesOf(Map.of("uid:0", "admin", "group:ops", "ops"));
    assertThat(p.consumersOf("vm1")).containsExactly(new SidecarConfig.Proxy.Consumer("backup", "backup"),
        new SidecarConfig.Proxy.Consumer("watcher", null));
    assertThat(p.consumersOf("vm2")).isEmpty();
    SidecarConfig defaults = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    assertThat(defaults.proxy()).isEqualTo(new SidecarConfig.Proxy(false, null, 64, Map.of(), Map.of()));

    Path bad = file("proxy:\n  groupAccess: maybe\n  maxClients: 0\n  clientName: \"a b\"\n"
        + "  callers:\n    \"pid:1\": x\n  consumers:\n    vm1:\n      - {name: \"\"}\n");
    assertThatThrownBy(() -> ConfigLoader.load(bad, Map.of(), List.of(), List.of()))
        .hasMessageContaining("proxy.groupAccess: 'maybe' must be true or false")
        .hasMessageContaining("proxy.maxClients: '0' must be a whole number of at least 1")
        .hasMessageContaining("proxy.clientName: 'a b' must be 1-64")
        .hasMessageContaining("proxy.callers.pid:1: write uid:NUMBER, user:NAME, gid:NUMBER or group:NAME")
        .hasMessageContaining("proxy.consumers.vm1[0].name: '' must be 1-64");
  }

  @Test
  void aBooleanIsTrueOrFalseAndAScalarKeyOneValueWhereverItIsWritten() throws IOException {
    Path f = file("proxy:\n  groupAccess: yes-please\n  maxClients: [8, 9]\n");
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), List.of(), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems"))
            .containsExactlyInAnyOrder(f + ":2:3: proxy.groupAccess: 'yes-please' must be true or false",
                f + ":3:3: proxy.maxClients: must be one value, not a list"));
    Path yes = file("proxy:\n  groupAccess: yes\n");
    assertThatThrownBy(() -> ConfigLoader.load(yes, Map.of(), List.of(), List.of()))
        .hasMessageContaining(yes + ":2:3: proxy.groupAccess: 'yes' must be true or false");
    assertThat(ConfigLoader.load(yes, Map.of(), List.of("proxy.groupAccess=true"), List.of()).proxy().groupAccess())
        .as("--set wins over the file").isTrue();
    // A value given by --set is not the file's: its problem names no place in the file.
    assertThatThrownBy(() -> ConfigLoader.load(yes, Map.of(), List.of("proxy.groupAccess=on"), List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems"))
            .containsExactly("proxy.groupAccess: 'on' must be true or false"));
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("relay.url=ws://127.0.0.1:7000/",
        "relay.hostId=h", "relay.syncEveryCommit=1"), List.of()))
        .hasMessageContaining("relay.syncEveryCommit: '1' must be true or false");
  }

  @Test
  void whatTheDaemonReadsAtStartIsCheckedHere() throws IOException {
    Path policy = Files.writeString(dir.resolve("policy.yaml"), "version: 1\nname: p\nrules:\n"
        + "  - {id: a, effect: maybe, callers: [\"*\"], commands: [\"*\"], reason: r}\n");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("policy.file=" + policy), List.of()))
        .hasMessageContaining("policy.file: " + policy + ":4:").hasMessageContaining("rules[0].effect: 'maybe'");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("policy.file=" + dir.resolve("none.yaml")),
        List.of())).hasMessageContaining("policy.file: " + dir.resolve("none.yaml") + ": no such file");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("policy.preset=strict"), List.of()))
        .hasMessageContaining("policy.preset: unknown preset 'strict': use one of [default, dpu]");

    Path tokens = Files.writeString(dir.resolve("tokens"), "ops:short\n");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("api.tcp=127.0.0.1:8080",
        "api.tokensFile=" + tokens), List.of()))
        .hasMessageContaining("api.tokensFile: " + tokens + ":1: token of 'ops' is shorter than 16 characters");

    Path key = pem("relay.key", "EC PRIVATE KEY");
    Path notPem = Files.writeString(dir.resolve("ca.der"), "0\u0082");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("relay.url=wss://dpu.example:4443/",
        "relay.hostId=h", "relay.cert=" + dir.resolve("missing.pem"), "relay.key=" + key, "relay.ca=" + notPem),
        List.of()))
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems"))
            .containsExactlyInAnyOrder(
                "relay.cert: " + dir.resolve("missing.pem") + " does not exist; give the path of a PEM file",
                "relay.ca: " + notPem + " holds no PEM CERTIFICATE (a '-----BEGIN CERTIFICATE-----' block); give the"
                    + " certificate's PEM file"));
    Path cert = pem("api.pem", "CERTIFICATE");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("api.tls.cert=" + cert, "api.tls.key=" + cert),
        List.of())).hasMessageContaining("api.tls.key: " + cert + " holds no PEM PRIVATE KEY");

    Path plainFile = Files.writeString(dir.resolve("state"), "");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("stateDir=" + plainFile), List.of()))
        .hasMessageContaining("stateDir: " + plainFile + " exists and is not a directory");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), List.of("proxy.dir=" + plainFile.resolve("a/proxy"),
        "api.socket=" + plainFile.resolve("api.sock")), List.of()))
        .hasMessageContaining("proxy.dir: " + plainFile.resolve("a/proxy") + " cannot be created: " + plainFile
            + " is not a directory")
        .hasMessageContaining("api.socket: " + plainFile + " exists and is not a directory");
    assertThat(ConfigLoader.load(null, Map.of(), List.of("stateDir=" + dir.resolve("new/state"),
        "api.socket=" + dir.resolve("run/api.sock")), List.of()).stateDir()).as("made at start").isNotNull();
  }
}
