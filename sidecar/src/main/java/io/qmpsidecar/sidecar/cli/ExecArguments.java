package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Builds a command's {@code arguments} from qmp-shell-style {@code key=value} words: a value is
 * read as JSON when it parses ({@code 1}, {@code true}, {@code [1,2]}, {@code {"a":1}},
 * {@code "quoted"}), else taken as a string; a dotted key ({@code a.b=1}) builds nested objects.
 */
final class ExecArguments {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ExecArguments() {}

  /**
   * @return the arguments object, or null when there are no words and no JSON
   * @throws IllegalArgumentException naming the word or text that is wrong
   */
  static ObjectNode parse(List<String> words, String json) {
    if (json != null && !words.isEmpty()) {
      throw new IllegalArgumentException("give the arguments either as key=value words or with"
          + " --json, not both");
    }
    if (json != null) {
      try {
        JsonNode node = JSON.readTree(json);
        if (node == null || !node.isObject()) {
          throw new IllegalArgumentException("--json must be a JSON object such as"
              + " '{\"path\":\"/machine\"}'");
        }
        return (ObjectNode) node;
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("--json is not valid JSON (" + e.getOriginalMessage()
            + ")");
      }
    }
    if (words.isEmpty()) {
      return null;
    }
    ObjectNode root = JSON.createObjectNode();
    for (String word : words) {
      put(root, word);
    }
    return root;
  }

  private static void put(ObjectNode root, String word) {
    int eq = word.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("argument '" + word + "' is not key=value (e.g."
          + " path=/machine, or a.b=1 for nested objects)");
    }
    String[] keys = word.substring(0, eq).split("\\.", -1);
    ObjectNode target = root;
    for (int i = 0; i < keys.length - 1; i++) {
      requireKey(keys[i], word);
      JsonNode child = target.get(keys[i]);
      if (child == null) {
        target = target.putObject(keys[i]);
      } else if (child.isObject()) {
        target = (ObjectNode) child;
      } else {
        throw new IllegalArgumentException("argument '" + word + "': '" + keys[i]
            + "' already has a value that is not an object");
      }
    }
    String last = keys[keys.length - 1];
    requireKey(last, word);
    if (target.has(last)) {
      throw new IllegalArgumentException("argument '" + word + "' sets '"
          + word.substring(0, eq) + "' a second time");
    }
    target.set(last, value(word.substring(eq + 1)));
  }

  private static void requireKey(String key, String word) {
    if (key.isEmpty()) {
      throw new IllegalArgumentException("argument '" + word + "' has an empty key segment");
    }
  }

  private static JsonNode value(String text) {
    try {
      JsonNode node = JSON.readTree(text);
      if (node != null && !node.isMissingNode()) {
        return node;
      }
    } catch (JsonProcessingException e) {
      // Not JSON: qmp-shell takes such a value as a plain string.
    }
    return JSON.getNodeFactory().textNode(text);
  }
}
