/**
 * The sidecar's Prometheus meters.
 *
 * <p>Foundation: uses no other sidecar package; used by every layer above.
 */
package io.qmpsidecar.sidecar.metrics;
