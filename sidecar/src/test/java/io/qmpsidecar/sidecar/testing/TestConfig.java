package io.qmpsidecar.sidecar.testing;

import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.FlowTestPolicy;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sidecar configuration for a test, built with typed setters and validated by the daemon's own
 * {@link ConfigLoader}: the API socket, the state and the proxy sockets live in the test's
 * directory unless set otherwise.
 */
public final class TestConfig {
  private final Path dir;
  private final Map<String, String> keys = new LinkedHashMap<>();
  private final List<String> vms = new ArrayList<>();
  private final List<String> libvirtVms = new ArrayList<>();
  private Path file;

  /** A configuration whose API socket, state and proxy sockets are in {@code dir}. */
  public TestConfig(Path dir) {
    this.dir = dir;
    keys.put("api.socket", dir.resolve("api.sock").toString());
    keys.put("stateDir", dir.resolve("state").toString());
    keys.put("proxy.dir", dir.resolve("proxy").toString());
  }

  /** A VM reached over the QMP monitor of {@code qemu}. */
  public TestConfig vm(String name, QemuProcess qemu) {
    return vm(name, qemu.qmpAddress().toString());
  }

  /** A VM reached at {@code address} ({@code unix:PATH} or {@code tcp:HOST:PORT}). */
  public TestConfig vm(String name, String address) {
    vms.add(name + "=" + address);
    return this;
  }

  /**
   * A VM managed by libvirt: domain {@code domain} at {@code uri}, with query passthrough when
   * {@code passthrough} (written to a configuration file, as a host would have it).
   */
  public TestConfig libvirtVm(String name, String uri, String domain, boolean passthrough) {
    libvirtVms.add("  - name: " + name + "\n    libvirt: {uri: '" + uri + "', domain: " + domain
        + ", passthrough: " + passthrough + "}\n");
    return this;
  }

  public TestConfig detachWait(Duration d) {
    return set("timeouts.detach", d.toMillis() + "ms");
  }

  public TestConfig attachTimeout(Duration d) {
    return set("timeouts.attach", d.toMillis() + "ms");
  }

  public TestConfig policyFile(Path file) {
    return set("policy.file", file.toString());
  }

  /** {@link FlowTestPolicy}: the default preset plus what flows on emulated devices need. */
  public TestConfig flowTestPolicy() {
    try {
      return policyFile(FlowTestPolicy.write(dir));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public TestConfig preset(String name) {
    return set("policy.preset", name);
  }

  /** The DPU link, to {@code url} as host {@code hostId}. */
  public TestConfig relay(String url, String hostId) {
    return set("relay.url", url).set("relay.hostId", hostId);
  }

  /** An API TCP listener with bearer tokens from {@code tokensFile}, made mode 600 as the daemon requires. */
  public TestConfig apiTcp(String hostPort, Path tokensFile) {
    try {
      Files.setPosixFilePermissions(tokensFile, PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return set("api.tcp", hostPort).set("api.tokensFile", tokensFile.toString());
  }

  public TestConfig vmSocketDir(Path d) {
    return set("vmSocketDir", d.toString());
  }

  public TestConfig stateDir(Path d) {
    return set("stateDir", d.toString());
  }

  public TestConfig hostRoots(Path sysfs, Path dev) {
    return set("host.sysfsRoot", sysfs.toString()).set("host.devRoot", dev.toString());
  }

  /**
   * A configuration file, read first as {@code run --config FILE} reads it: for what no
   * {@code --set} can give (the {@code hooks} list); the setters here still win over it.
   */
  public TestConfig file(Path yaml) {
    this.file = yaml;
    return this;
  }

  /** Any other key of docs/configuration.md, as {@code --set KEY=VALUE} would set it. */
  public TestConfig set(String key, String value) {
    keys.put(key, value);
    return this;
  }

  public Path apiSocket() {
    return Path.of(keys.get("api.socket"));
  }

  public Path stateDir() {
    return Path.of(keys.get("stateDir"));
  }

  public Path proxyDir() {
    return Path.of(keys.get("proxy.dir"));
  }

  public Path dir() {
    return dir;
  }

  /** Validated as {@code run} validates it; fails as {@code run} would. */
  public SidecarConfig build() {
    List<String> sets = new ArrayList<>();
    keys.forEach((k, v) -> sets.add(k + "=" + v));
    Path yaml = file;
    if (!libvirtVms.isEmpty()) {
      if (file != null) {
        throw new IllegalStateException("a test gives libvirt VMs and a configuration file: list the VMs in the file");
      }
      yaml = dir.resolve("sidecar.yaml");
      try {
        java.nio.file.Files.writeString(yaml, "vms:\n" + String.join("", libvirtVms));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return ConfigLoader.load(yaml, Map.of(), sets, vms);
  }
}
