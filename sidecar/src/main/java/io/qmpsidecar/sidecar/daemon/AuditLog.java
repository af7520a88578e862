package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.AuditSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Writes each policy decision on the audit logger, one line: a readable message ({@code allow
 * caller=api:local command=device_add arguments={...} rule=local: reason}) and every field as a
 * key/value ({@code caller}, {@code command}, {@code arguments} as JSON with secrets already
 * redacted by the engine, {@code effect}, {@code rule}, {@code reason}, and {@code vm} and
 * {@code opId} when the decision was for an operation). The JSON log format writes the key/values
 * as members of {@code kv}.
 */
final class AuditLog implements AuditSink {
  private final Logger audit;

  /** Writes on the {@code io.qmpsidecar.audit} logger. */
  AuditLog() {
    this(LoggerFactory.getLogger(LogConfigurator.AUDIT_LOGGER));
  }

  AuditLog(Logger audit) {
    this.audit = audit;
  }

  @Override
  public void accept(AuditRecord record) {
    LoggingEventBuilder line = audit.atInfo().addKeyValue("caller", record.caller())
        .addKeyValue("command", record.command()).addKeyValue("arguments", record.arguments())
        .addKeyValue("effect", record.effect().label()).addKeyValue("rule", record.ruleId())
        .addKeyValue("reason", record.reason());
    String vm = MDC.get("vm");
    if (vm != null) {
      line = line.addKeyValue("vm", vm);
    }
    String op = MDC.get("op");
    if (op != null) {
      line = line.addKeyValue("opId", op);
    }
    line.log("{} caller={} command={} arguments={} rule={}: {}", record.effect().label(), record.caller(),
        record.command(), record.arguments(), record.ruleId(), record.reason());
  }
}
