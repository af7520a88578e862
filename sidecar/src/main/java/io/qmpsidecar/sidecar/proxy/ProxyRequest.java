package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;

/**
 * One command (a JSON value) from a proxy client, checked the way QEMU's dispatcher checks it
 * ({@code qmp_dispatch_check_obj}), with QEMU's own error texts, so that a client sees the same
 * answer it would get from QEMU. Either {@link #error} is set (then nothing reaches QEMU) or
 * {@link #command} is.
 *
 * @param command the command name, or null when refused
 * @param arguments the {@code arguments} object, or null when the client sent none
 * @param oob whether it came as {@code exec-oob}
 * @param id the client's {@code id}, any JSON value, or null when it sent none (or the line could
 *     not be read far enough to find it, as in QEMU)
 * @param error QEMU's error for a malformed line, or null
 */
record ProxyRequest(String command, ObjectNode arguments, boolean oob, JsonNode id, QmpError error) {

  /** QEMU's JSON lexer accepts single-quoted strings and rejects duplicate keys. */
  private static final ObjectReader READER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build()
          .readerFor(JsonNode.class);

  /**
   * Reads one line.
   *
   * @param oobAllowed whether the client negotiated {@code oob}; without it QEMU calls
   *     {@code exec-oob} an unexpected member
   */
  static ProxyRequest parse(byte[] line, boolean oobAllowed) {
    JsonNode root;
    try {
      root = READER.readValue(line);
    } catch (StreamReadException e) {
      String why = e.getOriginalMessage();
      return refused(null, why != null && why.startsWith("Duplicate field")
          ? "JSON parse error, duplicate key"
          : "JSON parse error, " + firstLine(why));
    } catch (JsonProcessingException e) {
      return refused(null, "JSON parse error, " + firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      return refused(null, "JSON parse error, " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      return refused(null, "QMP input must be a JSON object");
    }
    JsonNode id = root.get("id");
    String command = null;
    String execKey = null;
    ObjectNode arguments = null;
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> member = it.next();
      String name = member.getKey();
      JsonNode value = member.getValue();
      if (name.equals("execute") || (name.equals("exec-oob") && oobAllowed)) {
        if (!value.isTextual()) {
          return refused(id, "QMP input member '" + name + "' must be a string");
        }
        if (execKey != null) {
          return refused(id, "QMP input member 'execute' clashes with 'exec-oob'");
        }
        execKey = name;
        command = value.textValue();
      } else if (name.equals("arguments")) {
        if (!value.isObject()) {
          return refused(id, "QMP input member 'arguments' must be an object");
        }
        arguments = (ObjectNode) value;
      } else if (!name.equals("id")) {
        return refused(id, "QMP input member '" + name + "' is unexpected");
      }
    }
    if (command == null) {
      return refused(id, "QMP input lacks member 'execute'");
    }
    return new ProxyRequest(command, arguments, execKey.equals("exec-oob"), id, null);
  }

  private static ProxyRequest refused(JsonNode id, String desc) {
    return new ProxyRequest(null, null, false, id, QmpError.generic(desc));
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "unreadable input";
    }
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl);
  }
}
