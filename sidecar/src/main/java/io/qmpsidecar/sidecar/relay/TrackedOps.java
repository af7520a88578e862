package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.sidecar.ops.Submitted;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DPU's operations that were accepted, or are being decided, and have not ended: what the
 * forwarder needs to turn the event stream into their {@code op.progress} and their one end.
 * Bounded: beyond {@link #CAPACITY} the oldest is forgotten (it then gets no end; the DPU's
 * {@code device.list} still tells). Thread-safe.
 */
final class TrackedOps {
  static final int CAPACITY = 10_000;

  /** One operation of the DPU. */
  static final class Op {
    final String opId;
    final String method;
    final String vm;
    final String deviceId;
    private volatile Submitted<?> submitted;

    Op(String opId, String method, String vm, String deviceId) {
      this.opId = opId;
      this.method = method;
      this.vm = vm;
      this.deviceId = deviceId;
    }

    boolean attach() {
      return RelayMethods.DEVICE_ATTACH.equals(method);
    }

    void submitted(Submitted<?> s) {
      this.submitted = s;
    }

    Submitted<?> submitted() {
      return submitted;
    }

    /**
     * Whether the operation was accepted: only then do its events become notifications. An
     * accepted operation's acceptance completed before any event of its course was published.
     */
    boolean accepted() {
      Submitted<?> s = submitted;
      return s != null && s.accepted().succeeded();
    }
  }

  private final Map<String, Op> ops = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Op> eldest) {
      return size() > CAPACITY;
    }
  };

  synchronized Op track(String opId, String method, String vm, String deviceId) {
    Op op = new Op(opId, method, vm, deviceId);
    ops.put(opId, op);
    return op;
  }

  synchronized Op get(String opId) {
    return opId == null ? null : ops.get(opId);
  }

  /** Forgets the operation; true when it was tracked (so its end is sent once). */
  synchronized boolean end(Op op) {
    return ops.remove(op.opId, op);
  }

  /** The accepted detaches of one device: a removal ends them all, whichever operation asked for it. */
  synchronized List<Op> detachesOf(String vm, String deviceId) {
    List<Op> out = new ArrayList<>();
    for (Op op : ops.values()) {
      if (!op.attach() && op.vm.equals(vm) && op.deviceId.equals(deviceId) && op.accepted()) {
        out.add(op);
      }
    }
    return out;
  }
}
