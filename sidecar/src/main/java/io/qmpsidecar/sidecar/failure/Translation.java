package io.qmpsidecar.sidecar.failure;

import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpException;
import io.qmpsidecar.qmp.QmpQueueFullException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** The libraries' failures in the daemon's vocabulary: the only place that looks at their types. */
final class Translation {
  private Translation() {}

  static SidecarException of(Throwable failure) {
    Throwable e = failure;
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof SidecarException s) {
      return s;
    }
    if (e instanceof QmpCommandException q) {
      return Failures.qemuRefused(null, q);
    }
    if (e instanceof QmpTimeoutException) {
      return SidecarException.of(Kind.TIMEOUT, "qemu-timeout", e.getMessage()).cause(e).build();
    }
    if (e instanceof QmpQueueFullException) {
      return SidecarException.of(Kind.BUSY, "qemu-busy", e.getMessage()).cause(e).build();
    }
    if (e instanceof QmpConnectionException) {
      return SidecarException.of(Kind.UNAVAILABLE, "qemu-unavailable", e.getMessage()).cause(e).build();
    }
    if (e instanceof QmpException) {
      return SidecarException.of(Kind.PROTOCOL, "qmp-protocol", e.getMessage()).cause(e).build();
    }
    if (e instanceof PolicyLoadException) {
      return SidecarException.of(Kind.CONFIGURATION, "policy-invalid", e.getMessage()).cause(e).build();
    }
    return SidecarException.of(Kind.INTERNAL, "internal", String.valueOf(e.getMessage())).cause(e).build();
  }
}
