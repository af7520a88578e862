package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Logs every step of every operation from the event stream, one line each, with the operation
 * id, the VM and the caller in the MDC (the JSON log format carries them as fields). The MDC is
 * set and cleared around each line, so it never leaks across the event loop's other work.
 */
public final class OperationLog {
  private static final Logger LOG = LoggerFactory.getLogger("io.qmpsidecar.operations");
  static final int QUEUE = 4096;
  /** Callers remembered per operation id, oldest forgotten first. */
  static final int CALLERS = 4096;

  private final Map<String, String> callers = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > CALLERS;
    }
  };

  /** Starts logging every operation step the event stream publishes. */
  public static EventSubscription start(EventStream events) {
    OperationLog log = new OperationLog();
    return events.subscribe(e -> !e.type().startsWith("qmp."), QUEUE, new EventListener() {
      @Override
      public void onEvent(SidecarEvent event) {
        log.line(event);
      }

      @Override
      public void onDropped(long count) {
        LOG.warn("{} operation events were not logged: the log fell {} behind", count, QUEUE);
      }
    });
  }

  private void line(SidecarEvent e) {
    String caller = e.text("caller");
    if (e.opId() != null && caller != null) {
      callers.put(e.opId(), caller);
    } else if (e.opId() != null) {
      caller = callers.get(e.opId());
    }
    try {
      MDC.put("vm", e.vm());
      if (e.opId() != null) {
        MDC.put("op", e.opId());
      }
      if (caller != null) {
        MDC.put("caller", caller);
      }
      LOG.info("{} {}", e.type(), e.data());
    } finally {
      MDC.clear();
    }
  }
}
