/**
 * The daemon's one failure vocabulary: {@code SidecarException} with its {@code Kind}, its
 * stable code and immutable data; {@code Failures} for the failures every layer meets the same
 * way. Each entry point maps the kind in one switch: HTTP status, JSON-RPC code, exit code.
 *
 * <p>The bottom layer: uses no other sidecar package; usable by all.
 */
package io.qmpsidecar.sidecar.failure;
