package io.qmpsidecar.policy;

/**
 * Receives an {@link AuditRecord} for every decision the engine makes, on the deciding thread.
 * An implementation must not block (hand records to a bounded queue or a non-blocking writer) and
 * must not throw; the engine's decision stands whatever the sink does.
 */
@FunctionalInterface
public interface AuditSink {

  /** A sink that drops every record. */
  AuditSink NONE = record -> {};

  /** Accepts one record. */
  void accept(AuditRecord record);
}
