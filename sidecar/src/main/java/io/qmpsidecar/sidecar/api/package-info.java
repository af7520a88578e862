/**
 * The northbound HTTP API (Vert.x Web): routes that authenticate the caller (socket permissions
 * or a bearer token), bind request bodies strictly ({@code StrictJson}) and call the operations
 * layer; failures become RFC 9457 problems ({@code Problem}, one switch from kind to status).
 *
 * <p>An entry point: may use {@code ops} and the layers below it, never {@code daemon} or
 * another entry point.
 */
package io.qmpsidecar.sidecar.api;
