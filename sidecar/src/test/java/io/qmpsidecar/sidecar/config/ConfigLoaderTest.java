package io.qmpsidecar.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

  @Test
  void defaultsApplyWhenNothingIsGiven() {
    SidecarConfig c = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    assertThat(c.vms()).isEmpty();
    assertThat(c.api().socket()).isEqualTo(Path.of("/run/qmp-sidecar/api.sock"));
    assertThat(c.api().tcpEnabled()).isFalse();
    assertThat(c.policy().preset()).isEqualTo("default");
    assertThat(c.timeouts().attach()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.relay().enabled()).isFalse();
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
        .isInstanceOfSatisfying(SidecarException.class, e -> assertThat((List<String>) e.detail("problems")).containsExactlyInAnyOrder(
            "api.sockt: unknown key; known keys: vms, " + String.join(", ", ConfigLoader.KEYS.keySet()),
            "version: 2 is not supported; this qmp-sidecar reads version 1",
            "vms[0].qmp: QMP address 'ftp://nope' must be unix:PATH or tcp:HOST:PORT",
            "vms[1].name: 'vm1' is used twice; VM names must be unique",
            "vms[2].name: 'bad name' must be 1-64 letters, digits, '.', '_' or '-'",
            "api.tcp is set but api.tokensFile is not: a TCP API requires bearer tokens",
            "log.format: 'xml' must be auto, human or json",
            "relay.hostId: required when relay.url is set (the DPU knows this host by it)",
            "relay.cert: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)",
            "relay.key: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)",
            "relay.ca: required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)"));
  }

  @Test
  void aMissingOrBrokenFileSaysSo() throws IOException {
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("none.yaml"), Map.of(), List.of(), List.of()))
        .hasMessageContaining("none.yaml").hasMessageContaining("no such file");
    Path broken = file("api: [unclosed");
    assertThatThrownBy(() -> ConfigLoader.load(broken, Map.of(), List.of(), List.of()))
        .hasMessageContaining("cannot read it as YAML");
  }
}
