package io.qmpsidecar.relay;

import io.vertx.core.Future;
import java.util.List;

/**
 * The sidecar's operations as the relay sees them. Called on the relay host's event loop after
 * the {@link RequestAuthorizer} allowed the request; implementations must not block. Failing a
 * future with {@link RelayErrorException} sends that error to the DPU; any other failure becomes
 * {@link ErrorCode#INTERNAL_ERROR}.
 */
public interface RequestExecutor {

  /**
   * Starts an attach. Called at most once per opId, also across restarts.
   *
   * @return completes with the acceptance once the operation runs (naming the device id, the
   *     one chosen when the request had none); fails with a {@link RelayErrorException} when it
   *     is refused before it runs (unknown VM: NOT_FOUND; ...), and nothing follows. After the
   *     acceptance, the operation reports through {@link RelayHost#notify}: optional
   *     {@link Notification#opProgress} stages, then exactly one end, {@link Notification#opCompleted}
   *     or {@link Notification#opFailed}
   */
  Future<OpAccepted> attach(DeviceAttachParams request);

  /**
   * Starts a detach; same contract as {@link #attach}. An unknown device is NOT_FOUND; a device
   * the DPU did not attach is POLICY_DENIED. A detach that QEMU confirms ends with
   * {@link Notification#deviceDeleted} then {@link Notification#opCompleted} (outcome detached),
   * notified in that order; one the guest never releases ends with {@link Notification#opFailed}
   * GUEST_UNPLUG_TIMEOUT.
   */
  Future<OpAccepted> detach(DeviceDetachParams request);

  /**
   * Finds out how an operation that an earlier run of the host process started, and whose end
   * was never stored, ended: typically by looking at QEMU (is the device there?). Called once per
   * such operation when the host starts, before it serves repeats of that opId (they are answered
   * OP_INTERRUPTED meanwhile). The relay sends the end: do not notify it yourself.
   *
   * @return completes with the end to send; failing, or not completing within the host's
   *     executorTimeout, sends {@code op.failed} OP_INTERRUPTED saying the outcome is unknown
   */
  Future<OpEnd> resume(UnfinishedOp op);

  /** @param vm a VM name, or null for every VM; completes with the devices passed into it */
  Future<List<DeviceInfo>> listDevices(String vm);

  /** Completes with every VM the sidecar serves. */
  Future<List<VmInfo>> listVms();

  /** Completes with the full state; also used when the DPU's last ack is older than retained. */
  Future<StateSnapshot> snapshot();
}
