package io.qmpsidecar.sidecar.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.QmpClosedException;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class CommandOutcomeTest {

  @Test
  void qemuErrorsKeepTheirClassAndOtherFailuresAreStableWordsNotJavaClassNames() {
    assertThat(Operations.outcome(new QmpCommandException("device_del", "DeviceNotFound", "no such device")))
        .isEqualTo("DeviceNotFound");
    assertThat(Operations.outcome(new QmpTimeoutException("query-status", Duration.ofSeconds(5))))
        .isEqualTo("qemu-timeout");
    assertThat(Operations.outcome(new QmpClosedException("closed"))).isEqualTo("qemu-unavailable");
    assertThat(Operations.outcome(new CompletionException(new QmpTimeoutException("x", Duration.ofSeconds(1)))))
        .isEqualTo("qemu-timeout");
    assertThat(Operations.outcome(new IllegalStateException("bug"))).isEqualTo("internal");
  }
}
