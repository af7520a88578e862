/**
 * The sidecar's end of the DPU link: runs the DPU's requests through the operations layer as
 * caller {@code dpu} and forwards the events the DPU must hear through the relay's durable
 * outbox; failures become JSON-RPC errors (one switch from kind to code).
 *
 * <p>An entry point: may use {@code ops} and the layers below it, never {@code daemon} or
 * another entry point.
 */
package io.qmpsidecar.sidecar.relay;
