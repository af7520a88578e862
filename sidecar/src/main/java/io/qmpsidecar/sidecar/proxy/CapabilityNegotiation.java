package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;

/**
 * Answers a client's {@code qmp_capabilities} locally, in the order and with the texts of QEMU
 * 7.2 and 10.0: first the arguments as QEMU's input visitor reads them ({@code enable}, then
 * unexpected parameters), then whether negotiation already happened, then whether each
 * capability was offered. Each client negotiates its own session.
 *
 * @param error QEMU's error for this command, or null when accepted
 * @param oob whether the client enabled {@code oob}
 */
record CapabilityNegotiation(QmpError error, boolean oob) {

  /** Capabilities QEMU knows (the QAPI enum {@code QMPCapability}). */
  private static final List<String> KNOWN = List.of("oob");

  /**
   * @param arguments the command's {@code arguments}, or null for none
   * @param offered the capabilities the proxy's greeting offered
   * @param negotiated whether the client already negotiated
   */
  static CapabilityNegotiation of(ObjectNode arguments, List<String> offered, boolean negotiated) {
    JsonNode enable = arguments == null ? null : arguments.get("enable");
    if (enable != null) {
      if (!enable.isArray()) {
        return refused(QmpError.generic("Invalid parameter type for 'enable', expected: array"));
      }
      for (int i = 0; i < enable.size(); i++) {
        JsonNode cap = enable.get(i);
        if (!cap.isTextual()) {
          return refused(QmpError.generic("Invalid parameter type for 'enable[" + i + "]', expected: string"));
        }
        if (!KNOWN.contains(cap.textValue())) {
          return refused(QmpError.generic("Parameter 'null' does not accept value '" + cap.textValue() + "'"));
        }
      }
    }
    if (arguments != null) {
      for (Iterator<String> names = arguments.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!name.equals("enable")) {
          return refused(QmpError.generic("Parameter '" + name + "' is unexpected"));
        }
      }
    }
    if (negotiated) {
      return refused(QmpError.commandNotFound("Capabilities negotiation is already complete, command ignored"));
    }
    boolean oob = false;
    if (enable != null) {
      for (JsonNode cap : enable) {
        if (!offered.contains(cap.textValue())) {
          return refused(QmpError.generic("Capability '" + cap.textValue() + "' not available"));
        }
        oob = true;
      }
    }
    return new CapabilityNegotiation(null, oob);
  }

  private static CapabilityNegotiation refused(QmpError error) {
    return new CapabilityNegotiation(error, false);
  }
}
