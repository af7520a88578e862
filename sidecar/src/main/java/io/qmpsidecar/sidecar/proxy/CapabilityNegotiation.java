package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Answers a client's {@code qmp_capabilities} locally, with the error texts QEMU 7.2 and 10.0
 * give for the same arguments: each client negotiates its own session.
 *
 * @param error QEMU's error for these arguments, or null when accepted
 * @param oob whether the client enabled {@code oob}
 */
record CapabilityNegotiation(QmpError error, boolean oob) {

  /** Capabilities QEMU knows (the QAPI enum {@code QMPCapability}). */
  private static final List<String> KNOWN = List.of("oob");

  /**
   * @param arguments the command's {@code arguments}, or null for none
   * @param offered the capabilities the proxy's greeting offered
   */
  static CapabilityNegotiation of(ObjectNode arguments, List<String> offered) {
    if (arguments == null) {
      return new CapabilityNegotiation(null, false);
    }
    boolean oob = false;
    for (Iterator<Map.Entry<String, JsonNode>> it = arguments.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> member = it.next();
      if (!member.getKey().equals("enable")) {
        return refused("Parameter '" + member.getKey() + "' is unexpected");
      }
      JsonNode enable = member.getValue();
      if (!enable.isArray()) {
        return refused("Invalid parameter type for 'enable', expected: array");
      }
      for (int i = 0; i < enable.size(); i++) {
        JsonNode cap = enable.get(i);
        if (!cap.isTextual()) {
          return refused("Invalid parameter type for 'enable[" + i + "]', expected: string");
        }
        if (!KNOWN.contains(cap.textValue())) {
          return refused("Parameter 'null' does not accept value '" + cap.textValue() + "'");
        }
        if (!offered.contains(cap.textValue())) {
          return refused("Capability '" + cap.textValue() + "' not available");
        }
        oob = true;
      }
    }
    return new CapabilityNegotiation(null, oob);
  }

  private static CapabilityNegotiation refused(String desc) {
    return new CapabilityNegotiation(QmpError.generic(desc), false);
  }
}
