package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import io.qmpsidecar.policy.PolicyError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a YAML or JSON document into a tree and remembers where every field and element started,
 * so that validation errors can name a line and column. Duplicate keys are errors: a document whose
 * meaning depends on which duplicate a parser keeps is ambiguous. An empty document has no root
 * and no error: what it means is the reader's to say.
 */
public final class LocatedTree {

  private static final JsonFactory JSON = new JsonFactory();
  private static final YAMLFactory YAML = new YAMLFactory();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final Problems problems;
  private final Map<String, JsonLocation> locations = new HashMap<>();
  private JsonNode root;

  private LocatedTree(Problems problems) {
    this.problems = problems;
  }

  /**
   * Parses {@code text} from {@code source} (a file name, used in {@link #errors()}); its syntax
   * errors and duplicate keys are {@link #errors()}, and its root is {@code null} after a syntax
   * error or when the document is empty.
   */
  public static LocatedTree parse(String text, boolean json, String source) {
    Problems problems = new Problems(source);
    LocatedTree tree = parse(text, json, problems);
    problems.attach(tree);
    return tree;
  }

  /** The syntax errors and duplicate keys found, in document order. */
  public List<PolicyError> errors() {
    return problems.errors();
  }

  /**
   * Parses {@code text}; on a syntax error records it in {@code problems} and returns a tree
   * whose root is {@code null}.
   */
  static LocatedTree parse(String text, boolean json, Problems problems) {
    LocatedTree tree = new LocatedTree(problems);
    try (JsonParser parser = (json ? JSON : YAML).createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        return tree;
      }
      tree.root = tree.read(parser, "");
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      problems.add(
          at == null ? 0 : at.getLineNr(),
          at == null ? 0 : at.getColumnNr(),
          "",
          "not valid " + (json ? "JSON" : "YAML") + ": " + firstLine(e.getOriginalMessage())
              + "; check the indentation, quoting and brackets at this line");
      tree.root = null;
    } catch (IOException e) {
      problems.add(0, 0, "", "could not read the document: " + e.getMessage());
      tree.root = null;
    }
    return tree;
  }

  private static String firstLine(String message) {
    String first = message == null ? "syntax error" : message.lines().findFirst().orElse("");
    return first.strip();
  }

  /** The document's root, or {@code null} when it could not be parsed or is empty. */
  public JsonNode root() {
    return root;
  }

  /**
   * Where the field at {@code path} ({@code a.b[2].c}), or its closest located ancestor, starts;
   * null when nothing on the path was located.
   */
  public JsonLocation locate(String path) {
    String p = path;
    while (true) {
      JsonLocation at = locations.get(p);
      if (at != null || p.isEmpty()) {
        return at;
      }
      p = parent(p);
    }
  }

  /** Where the field at exactly {@code path} starts; null when the document does not write it. */
  public JsonLocation at(String path) {
    return locations.get(path);
  }

  private static String parent(String path) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return cut <= 0 ? "" : path.substring(0, cut);
  }

  private JsonNode read(JsonParser parser, String path) throws IOException {
    JsonLocation at = parser.currentTokenLocation();
    locations.putIfAbsent(path, at);
    JsonToken token = parser.currentToken();
    switch (token) {
      case START_OBJECT:
        return readObject(parser, path);
      case START_ARRAY:
        return readArray(parser, path);
      case VALUE_STRING:
        return NODES.textNode(parser.getText());
      case VALUE_NUMBER_INT:
        return NODES.numberNode(parser.getLongValue());
      case VALUE_NUMBER_FLOAT:
        return NODES.numberNode(parser.getDoubleValue());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return bool(parser);
      case VALUE_NULL:
        return NODES.nullNode();
      default:
        problems.add(at.getLineNr(), at.getColumnNr(), path, "unsupported value " + token);
        return NODES.nullNode();
    }
  }

  /**
   * A boolean as YAML 1.2 reads it: only {@code true} and {@code false} (any case). YAML 1.1's
   * {@code yes}, {@code no}, {@code on}, {@code off}, which the parser also reads as booleans,
   * stay the words they are, so that a boolean field refuses them and a text field keeps them.
   */
  private static JsonNode bool(JsonParser parser) throws IOException {
    String text = parser.getText();
    return text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")
        ? NODES.booleanNode(parser.currentToken() == JsonToken.VALUE_TRUE) : NODES.textNode(text);
  }

  private ObjectNode readObject(JsonParser parser, String path) throws IOException {
    ObjectNode object = NODES.objectNode();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      String child = path.isEmpty() ? name : path + "." + name;
      JsonLocation at = parser.currentTokenLocation();
      parser.nextToken();
      if (object.has(name)) {
        problems.add(
            at.getLineNr(),
            at.getColumnNr(),
            child,
            "duplicate key '" + name + "': keep only one of them");
        read(parser, child + "#duplicate");
        continue;
      }
      locations.put(child, at);
      object.set(name, read(parser, child));
    }
    return object;
  }

  private ArrayNode readArray(JsonParser parser, String path) throws IOException {
    ArrayNode array = NODES.arrayNode();
    while (parser.nextToken() != JsonToken.END_ARRAY) {
      array.add(read(parser, path + "[" + array.size() + "]"));
    }
    return array;
  }
}
