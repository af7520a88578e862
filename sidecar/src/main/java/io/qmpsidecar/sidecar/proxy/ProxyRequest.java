package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * One message from a proxy client, checked the way QEMU's dispatcher checks it
 * ({@code qmp_dispatch_check_obj}, members in QEMU's order), with QEMU's own error texts. Either
 * {@link #error} is set (then nothing reaches QEMU) or {@link #command} is. The {@code arguments}
 * are the very object the policy decides on and the proxy sends to QEMU.
 *
 * @param command the command name, or null when refused
 * @param arguments the {@code arguments} object, or null when the client sent none
 * @param oob whether it came as {@code exec-oob}
 * @param immediate whether QEMU answers it at once, ahead of queued in-band commands: an
 *     {@code exec-oob} message from a client that enabled {@code oob} (even a malformed one)
 * @param id the client's {@code id} as parsed, or null when it sent none or the message was not
 *     an object
 * @param error QEMU's error for the message, or null
 */
record ProxyRequest(String command, ObjectNode arguments, boolean oob, boolean immediate, JsonNode id,
    QmpError error) {

  /** A message QEMU could not parse: its error, without an id. */
  static ProxyRequest unreadable(String desc) {
    return new ProxyRequest(null, null, false, false, null, QmpError.generic(desc));
  }

  /**
   * @param oobEnabled whether the client negotiated {@code oob}; without it QEMU calls
   *     {@code exec-oob} an unexpected member
   */
  static ProxyRequest of(JsonNode message, boolean oobEnabled) {
    if (!message.isObject()) {
      return new ProxyRequest(null, null, false, false, null,
          QmpError.generic("QMP input must be a JSON object"));
    }
    JsonNode id = message.get("id");
    boolean immediate = oobEnabled && message.has("exec-oob") && !message.has("execute");
    String execKey = null;
    for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> member = it.next();
      String name = member.getKey();
      JsonNode value = member.getValue();
      if (name.equals("execute") || (name.equals("exec-oob") && oobEnabled)) {
        if (!value.isTextual()) {
          return refused(id, immediate, "QMP input member '" + name + "' must be a string");
        }
        if (execKey != null) {
          return refused(id, immediate, "QMP input member '" + name + "' clashes with '" + execKey + "'");
        }
        execKey = name;
      } else if (name.equals("arguments")) {
        if (!value.isObject()) {
          return refused(id, immediate, "QMP input member 'arguments' must be an object");
        }
      } else if (!name.equals("id")) {
        return refused(id, immediate, "QMP input member '" + name + "' is unexpected");
      }
    }
    if (execKey == null) {
      return refused(id, immediate, "QMP input lacks member 'execute'");
    }
    return new ProxyRequest(message.get(execKey).textValue(), (ObjectNode) message.get("arguments"),
        execKey.equals("exec-oob"), immediate, id, null);
  }

  /** The same request, refused with {@code error} (e.g. an unknown command). */
  ProxyRequest refusedWith(QmpError why) {
    return new ProxyRequest(command, arguments, oob, immediate, id, why);
  }

  private static ProxyRequest refused(JsonNode id, boolean immediate, String desc) {
    return new ProxyRequest(null, null, false, immediate, id, QmpError.generic(desc));
  }
}
