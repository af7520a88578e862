package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.Iterator;

/**
 * Reads a raw QMP command line the way QEMU would, but refuses anything whose meaning could
 * differ between this reader and QEMU's: duplicate keys (QEMU's parser keeps one of them
 * silently), more than one JSON value in the text (QEMU would run each), members QEMU rejects.
 * Single-quoted strings are accepted, as QEMU's JSON lexer accepts them.
 */
public final class QmpText {

  private static final ObjectReader READER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build()
          .readerFor(JsonNode.class);

  /** A parsed command, or the reason it was refused (then command and arguments are null). */
  public record Parsed(String command, JsonNode arguments, String refusal) {}

  private QmpText() {}

  /** Parses one raw QMP command; never throws. */
  public static Parsed parse(String text) {
    JsonNode root;
    try {
      root = READER.readValue(text);
    } catch (JsonProcessingException e) {
      return refuse("not a single well-formed JSON object without duplicate keys ("
          + e.getOriginalMessage() + "); send one command per line");
    }
    if (root == null || !root.isObject()) {
      return refuse("a QMP command must be a JSON object such as {\"execute\": \"query-status\"}");
    }
    String command = null;
    JsonNode arguments = null;
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      JsonNode value = root.get(name);
      switch (name) {
        case "execute":
        case "exec-oob":
          if (command != null) {
            return refuse("both execute and exec-oob are present; QEMU rejects that: keep one");
          }
          if (!value.isTextual()) {
            return refuse("member '" + name + "' must be a string naming the command");
          }
          command = value.textValue();
          break;
        case "arguments":
          if (!value.isObject()) {
            return refuse("member 'arguments' must be an object");
          }
          arguments = value;
          break;
        case "id":
          break;
        default:
          return refuse("member '" + name + "' is unexpected; QEMU accepts only execute,"
              + " exec-oob, arguments and id");
      }
    }
    if (command == null) {
      return refuse("the command lacks member 'execute'");
    }
    return new Parsed(command, arguments == null ? JsonNodeFactory.instance.objectNode() : arguments, null);
  }

  private static Parsed refuse(String reason) {
    return new Parsed(null, null, reason);
  }
}
