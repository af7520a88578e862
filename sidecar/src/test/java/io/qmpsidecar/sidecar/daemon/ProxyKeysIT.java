package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The proxy's keys of the configuration reach the daemon's proxy sockets: {@code proxy.dir} (created
 * when missing), {@code proxy.groupAccess}, {@code proxy.maxClients}.
 */
class ProxyKeysIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void groupAccessAndMaxClientsFromTheConfigurationShapeTheVmsProxySocket(QemuBinary binary) throws Exception {
    Path missing = harness.dir().resolve("run/proxy");
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1))
        .set("proxy.groupAccess", "true").set("proxy.maxClients", "1").set("proxy.dir", missing.toString());
    harness.startReady(config);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(missing)))
        .as("a missing proxy directory is created with mode 0750").isEqualTo("rwxr-x---");
    Path socket = config.proxyDir().resolve("vm1.qmp");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");

    try (SocketChannel first = SocketChannel.open(StandardProtocolFamily.UNIX);
        SocketChannel second = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      first.connect(UnixDomainSocketAddress.of(socket));
      BufferedReader firstIn = reader(first);
      assertThat(firstIn.readLine()).as("the first client is greeted").contains("\"QMP\"");
      second.connect(UnixDomainSocketAddress.of(socket));
      assertThat(reader(second).readLine()).contains("too many clients (1 connected, the limit)",
          "raise the proxy's maxClients");
    }
  }

  private static BufferedReader reader(SocketChannel channel) throws IOException {
    return new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
  }
}
