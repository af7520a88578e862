package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A TCP port another process holds stops the start with one line naming the address and the key
 * to change (docs/configuration.md), for the API's listener and for the metrics one; what the
 * start had opened is closed by the time it fails.
 */
class PortInUseTest {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @ParameterizedTest
  @ValueSource(strings = {"api.tcp", "api.metrics"})
  void aPortInUseNamesTheAddressAndTheKey(String key) throws Exception {
    try (ServerSocket held = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + held.getLocalPort();
      Path tokens = Files.writeString(harness.dir().resolve("tokens"), "ci:0123456789abcdef0123456789abcdef\n");
      TestConfig config = key.equals("api.tcp") ? harness.config().apiTcp(address, tokens)
          : harness.config().set(key, address);

      assertThatThrownBy(() -> harness.start(config))
          .hasMessageContaining(address).hasMessageContaining("choose another " + key);
      assertThat(config.build().stateDir().resolve(StateStore.FILE_NAME + "-wal"))
          .as("the failure is reported once the state store this start opened is closed").doesNotExist();
    }
  }
}
