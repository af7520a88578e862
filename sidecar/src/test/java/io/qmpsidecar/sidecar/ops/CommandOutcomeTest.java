package io.qmpsidecar.sidecar.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.QmpClosedException;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.time.Duration;
import java.util.Map;
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
    assertThat(Operations.outcome(SidecarException.of(SidecarException.Kind.QEMU_ERROR, "qemu-error", "refused")
        .detail("qemu", Map.of("class", "CommandNotFound", "desc", "no such command")).build()))
        .as("QEMU's refusal passed on by libvirt").isEqualTo("CommandNotFound");
    assertThat(Operations.outcome(SidecarException.of(SidecarException.Kind.UNAVAILABLE, "vm-unavailable", "down")
        .build())).isEqualTo("vm-unavailable");
  }
}
