/**
 * The daemon's configuration: read from YAML, environment and {@code --set}, validated whole,
 * bound to {@code SidecarConfig}.
 *
 * <p>Foundation: may use {@code failure} only; used by every layer above.
 */
package io.qmpsidecar.sidecar.config;
