/**
 * The running daemon's wiring: {@code Sidecar} builds every part complete (store, VM registry,
 * policy gate, operations, migrations, API, DPU link, proxies) and starts and stops them; no
 * logic of its own. {@code Logging} chooses the log format.
 *
 * <p>May use the entry points, {@code ops} and everything below; used only by {@code cli} and
 * {@code demo}.
 */
package io.qmpsidecar.sidecar.daemon;
