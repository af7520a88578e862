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
   * @return completes with the acceptance once the operation runs; its end is reported later
   *     through {@link RelayHost#notify} ({@code op.completed} / {@code op.failed})
   */
  Future<OpAccepted> attach(DeviceAttachParams request);

  /** Starts a detach; same contract as {@link #attach}. */
  Future<OpAccepted> detach(DeviceDetachParams request);

  /** @param vm a VM name, or null for every VM; completes with the devices passed into it */
  Future<List<DeviceInfo>> listDevices(String vm);

  /** Completes with every VM the sidecar serves. */
  Future<List<VmInfo>> listVms();

  /** Completes with the full state; also used when the DPU's last ack is older than retained. */
  Future<StateSnapshot> snapshot();
}
