package io.qmpsidecar.relay;

import java.util.Objects;

/**
 * An operation an earlier run of the host process started and whose end ({@code op.completed} /
 * {@code op.failed}) was never stored: the process died while it ran. Handed to
 * {@link RequestExecutor#resume} at start.
 *
 * @param opId the operation's idempotency key
 * @param method {@code device.attach} or {@code device.detach}
 * @param params the request's params: {@link DeviceAttachParams} or {@link DeviceDetachParams}
 * @param accepted the acceptance the DPU was answered with, or null when the process died before
 *     the executor accepted it (the operation may or may not have begun)
 */
public record UnfinishedOp(String opId, String method, Record params, OpAccepted accepted) {

  public UnfinishedOp {
    Objects.requireNonNull(opId, "opId");
    boolean attach = RelayMethods.DEVICE_ATTACH.equals(method) && params instanceof DeviceAttachParams;
    boolean detach = RelayMethods.DEVICE_DETACH.equals(method) && params instanceof DeviceDetachParams;
    if (!attach && !detach) {
      throw new IllegalArgumentException("an unfinished operation is a device.attach with DeviceAttachParams or a"
          + " device.detach with DeviceDetachParams, not " + method + " with " + params);
    }
  }
}
