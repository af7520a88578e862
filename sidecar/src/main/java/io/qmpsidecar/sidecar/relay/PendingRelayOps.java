package io.qmpsidecar.sidecar.relay;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The DPU's detach operations still waiting for QEMU's {@code DEVICE_DELETED}, so that their
 * {@code op.completed} is sent when it comes. Bounded: beyond {@link #CAPACITY} the oldest is
 * forgotten (the DPU still gets {@code device.deleted} for it).
 */
final class PendingRelayOps {
  static final int CAPACITY = 10_000;
  private final Map<String, Boolean> ops = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > CAPACITY;
    }
  });

  void add(String opId) {
    if (opId != null) {
      ops.put(opId, Boolean.TRUE);
    }
  }

  /** True (once) when {@code opId} was a pending DPU detach. */
  boolean complete(String opId) {
    return opId != null && ops.remove(opId) != null;
  }
}
