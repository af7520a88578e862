package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommandObserver;
import io.qmpsidecar.qmp.QmpConnection;
import java.util.Locale;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Logs every QMP command an operation sends, one line each on the operations logger, with the
 * VM, the operation id, the caller and the command's QMP id in the MDC, next to the lines
 * {@code OperationLog} writes for the operation's steps: changes and failures at INFO, reads
 * that succeeded ({@code query-*}, {@code qom-*}) at DEBUG. The MDC is set and cleared around
 * each line.
 */
public final class OperationTrace implements QmpCommandObserver {
  private static final Logger LOG = LoggerFactory.getLogger("io.qmpsidecar.operations");

  private final String vm;
  private final String opId;
  private final String caller;

  private OperationTrace(String vm, String opId, String caller) {
    this.vm = vm;
    this.opId = opId;
    this.caller = caller;
  }

  /** An operation id for a request that came without one. */
  public static String newOpId(String kind) {
    return kind + "-" + UUID.randomUUID().toString().substring(0, 13);
  }

  /** {@code connection} with each command logged for this operation. */
  public static QmpConnection traced(QmpConnection connection, String vm, String opId, String caller) {
    return connection.observedBy(new OperationTrace(vm, opId, caller));
  }

  @Override
  public void completed(String name, long id, long nanos, Throwable failure) {
    // Reads that went well (a migration polls query-migrate) are details; changes and errors are not.
    boolean detail = failure == null && (name.startsWith("query-") || name.startsWith("qom-"));
    if (detail ? !LOG.isDebugEnabled() : !LOG.isInfoEnabled()) {
      return;
    }
    try {
      MDC.put("vm", vm);
      MDC.put("op", opId);
      MDC.put("caller", caller);
      if (id >= 0) {
        MDC.put("qmp", Long.toString(id));
      }
      String took = String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
      if (detail) {
        LOG.debug("qmp {} returned in {}", name, took);
      } else if (failure == null) {
        LOG.info("qmp {} returned in {}", name, took);
      } else if (failure instanceof QmpCommandException e) {
        LOG.info("qmp {} failed in {}: {}: {}", name, took, e.errorClass(), e.description());
      } else {
        LOG.info("qmp {} failed in {}: {}", name, took, failure.getMessage());
      }
    } finally {
      MDC.clear();
    }
  }
}
