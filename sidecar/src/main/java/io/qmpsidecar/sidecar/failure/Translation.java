package io.qmpsidecar.sidecar.failure;

import io.qmpsidecar.libvirt.LibvirtErrorException;
import io.qmpsidecar.libvirt.LibvirtTimeoutException;
import io.qmpsidecar.libvirt.LibvirtUnavailableException;
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
    if (e instanceof LibvirtErrorException l) {
      return libvirtRefused(l);
    }
    if (e instanceof LibvirtTimeoutException) {
      return SidecarException.of(Kind.TIMEOUT, "libvirt-timeout", e.getMessage())
          .fix("libvirtd did not answer in time; check it (virsh list) and retry").cause(e).build();
    }
    if (e instanceof LibvirtUnavailableException) {
      return SidecarException.of(Kind.UNAVAILABLE, "libvirt-unavailable", e.getMessage()).cause(e).build();
    }
    if (e instanceof PolicyLoadException) {
      return SidecarException.of(Kind.CONFIGURATION, "policy-invalid", e.getMessage()).cause(e).build();
    }
    return SidecarException.of(Kind.INTERNAL, "internal", String.valueOf(e.getMessage())).cause(e).build();
  }

  /** libvirt refused: its error number's name and message are kept in the detail {@code libvirt}. */
  private static SidecarException libvirtRefused(LibvirtErrorException l) {
    Kind kind = switch (l.codeName()) {
      case "VIR_ERR_NO_DOMAIN" -> Kind.NOT_FOUND;
      case "VIR_ERR_OPERATION_INVALID", "VIR_ERR_OPERATION_UNSUPPORTED", "VIR_ERR_CONFIG_UNSUPPORTED",
          "VIR_ERR_ARGUMENT_UNSUPPORTED" -> Kind.CONFLICT;
      case "VIR_ERR_OPERATION_TIMEOUT" -> Kind.TIMEOUT;
      default -> Kind.FAILED;
    };
    return SidecarException.of(kind, "libvirt-error", l.getMessage())
        .fix("libvirt's own message says why; virsh shows the same domain state")
        .detail("libvirt", java.util.Map.of("code", l.codeName(), "message", String.valueOf(l.libvirtMessage())))
        .cause(l).build();
  }
}
