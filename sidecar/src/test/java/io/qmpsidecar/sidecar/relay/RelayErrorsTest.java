package io.qmpsidecar.sidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.sidecar.failure.SidecarException;
import org.junit.jupiter.api.Test;

/** How the DPU hears the sidecar's failures (docs/relay-protocol.md, the error table). */
class RelayErrorsTest {

  @Test
  void aFullVmQueueIsTooManyRequestsWithItsLimit() {
    RelayError error = RelayErrors.of(SidecarException.of(SidecarException.Kind.BUSY, "vm-busy",
        "VM vm1 already has 16 operations queued").vm("vm1").detail("limit", 16).build());

    assertThat(error.code()).isEqualTo(ErrorCode.TOO_MANY_REQUESTS);
    assertThat(error.data()).containsEntry("limit", 16);
  }
}
