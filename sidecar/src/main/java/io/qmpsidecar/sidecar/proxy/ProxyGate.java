package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;

/**
 * Decides whether a proxy client's command may run. The proxy asks once per command, with the
 * very arguments object it then sends to QEMU (parsed once, by QEMU's rules), so what is decided
 * and what QEMU runs cannot differ. The daemon wires it to the operations layer, which audits the
 * decision and takes the caller's rate-limit token. Called on the client's event loop: it must
 * not block.
 */
@FunctionalInterface
public interface ProxyGate {

  /**
   * @param caller the client, {@code proxy:<name>}
   * @param command the QMP command name QEMU will run
   * @param arguments the {@code arguments} object QEMU will get; empty when the client sent none.
   *     The gate must not change it.
   * @return the decision; only an allowed command reaches QEMU
   */
  Decision decide(Caller caller, String command, ObjectNode arguments);
}
