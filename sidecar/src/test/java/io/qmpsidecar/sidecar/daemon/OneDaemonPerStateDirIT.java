package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A second daemon on the state directory or the API socket of a running one refuses to start and
 * leaves the first one whole (its socket answers); once the first has stopped, the second starts.
 */
class OneDaemonPerStateDirIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @Test
  void aSecondDaemonOnTheSameStateDirOrApiSocketIsRefused() throws Exception {
    TestConfig first = harness.config();
    Sidecar running = harness.start(first);
    ApiTestClient api = harness.api(first);

    assertThatThrownBy(() -> Sidecar.start(first.build(), SidecarHarness.START))
        .hasStackTraceContaining("another qmp-sidecar (pid " + ProcessHandle.current().pid() + ") uses the state directory "
            + harness.dir().resolve("state"));
    TestConfig sameSocket = harness.config().set("stateDir", harness.dir().resolve("state2").toString());
    assertThatThrownBy(() -> Sidecar.start(sameSocket.build(), SidecarHarness.START))
        .hasStackTraceContaining("another process listens on " + first.apiSocket());
    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).as("the first daemon still serves").isEqualTo(200);

    running.stop();
    Sidecar second = harness.start(first);
    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).isEqualTo(200);
    second.stop();
  }
}
