package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Hides secret values in arguments before they reach the audit log. A value is secret when its
 * key ends (ignoring case) with one of {@link #SECRET_SUFFIXES}, or when it is the {@code data}
 * of an object whose {@code qom-type} is {@code secret}. Arguments without secrets are returned
 * as they are, so the common case costs one scan and no copy.
 */
public final class Redactor {

  /** Key endings whose values are replaced by {@link #MASK}. */
  public static final String[] SECRET_SUFFIXES = {
    "password", "passwd", "passphrase", "secret", "token", "key", "credential", "credentials",
    "cookie"
  };

  /** What a secret value is replaced with. */
  public static final String MASK = "***";
  private static final String QUOTED_MASK = "\"" + MASK + "\"";

  private Redactor() {}

  /** Returns {@code arguments} with every secret value masked. */
  public static JsonNode redact(JsonNode arguments) {
    if (!containsSecret(arguments)) {
      return arguments;
    }
    JsonNode copy = arguments.deepCopy();
    mask(copy);
    return copy;
  }

  /**
   * {@code text} (a decision's reason, which may quote argument values) with every secret string
   * value of {@code arguments}, as JSON quotes it, replaced by {@code "***"}.
   */
  public static String scrub(String text, JsonNode arguments) {
    if (!containsSecret(arguments)) {
      return text;
    }
    List<String> secrets = new ArrayList<>();
    collectSecrets(arguments, secrets);
    String scrubbed = text;
    for (String quoted : secrets) {
      scrubbed = scrubbed.replace(quoted, QUOTED_MASK);
    }
    return scrubbed;
  }

  private static void collectSecrets(JsonNode node, List<String> out) {
    if (node.isObject()) {
      boolean secretObject = isSecretObject(node);
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (isSecretKey(field.getKey()) || secretObject && field.getKey().equals("data")) {
          if (field.getValue().isTextual()) {
            out.add(field.getValue().toString());
          }
        } else {
          collectSecrets(field.getValue(), out);
        }
      }
    } else if (node.isArray()) {
      node.forEach(element -> collectSecrets(element, out));
    }
  }

  private static boolean containsSecret(JsonNode node) {
    if (node.isObject()) {
      if (isSecretObject(node)) {
        return true;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (isSecretKey(field.getKey()) || containsSecret(field.getValue())) {
          return true;
        }
      }
    } else if (node.isArray()) {
      for (JsonNode element : node) {
        if (containsSecret(element)) {
          return true;
        }
      }
    }
    return false;
  }

  private static void mask(JsonNode node) {
    if (node instanceof ObjectNode object) {
      boolean secretObject = isSecretObject(object);
      for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (isSecretKey(field.getKey()) || secretObject && field.getKey().equals("data")) {
          field.setValue(TextNode.valueOf(MASK));
        } else {
          mask(field.getValue());
        }
      }
    } else if (node instanceof ArrayNode array) {
      array.forEach(Redactor::mask);
    }
  }

  private static boolean isSecretObject(JsonNode object) {
    JsonNode type = object.get("qom-type");
    return type != null && type.isTextual() && type.textValue().equals("secret");
  }

  static boolean isSecretKey(String key) {
    for (String suffix : SECRET_SUFFIXES) {
      int start = key.length() - suffix.length();
      if (start >= 0 && key.regionMatches(true, start, suffix, 0, suffix.length())) {
        return true;
      }
    }
    return false;
  }
}
