package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The API's OpenAPI document (the {@code /openapi.json} resource the server serves) as a checker:
 * whether a request is one the document describes (its parameters and body), and whether an
 * answer is one it promises (status, content type, body), each body checked with its JSON schema
 * (draft 2020-12, the dialect of OpenAPI 3.1). Records which operation answered which status.
 */
final class OpenApiContract {
  /** Where the document is registered for the validator; never fetched. */
  private static final String BASE = "https://qmp-sidecar.invalid/openapi.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options");

  /** One operation of the document. */
  record Operation(String method, String template, Pattern pattern, JsonNode node) {
    String id() {
      return node.path("operationId").asText();
    }
  }

  private final String text;
  private final JsonNode doc;
  private final SchemaRegistry registry;
  private final List<Operation> operations = new ArrayList<>();
  private final Set<String> answered = new TreeSet<>();

  OpenApiContract() {
    try (InputStream in = OpenApiContract.class.getResourceAsStream("/openapi.json")) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      doc = JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read openapi.json", e);
    }
    registry = SchemaRegistry.withDefaultDialect(Dialects.getOpenApi31(), b -> b.schemas(Map.of(BASE, text))
        .schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
    doc.path("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(m -> {
      if (METHODS.contains(m.getKey())) {
        operations.add(new Operation(m.getKey().toUpperCase(Locale.ROOT), p.getKey(), pattern(p.getKey()), m.getValue()));
      }
    }));
  }

  JsonNode document() {
    return doc;
  }

  List<Operation> operations() {
    return List.copyOf(operations);
  }

  /** {@code operationId status} of every answer checked so far. */
  Set<String> answered() {
    return Set.copyOf(answered);
  }

  /** {@code /v1/vms/{vm}} matches {@code /v1/vms/} and one segment. */
  private static Pattern pattern(String template) {
    StringBuilder regex = new StringBuilder();
    for (String part : template.split("(?=\\{)|(?<=\\})")) {
      regex.append(part.startsWith("{") ? "[^/]+" : Pattern.quote(part));
    }
    return Pattern.compile(regex.toString());
  }

  /** The operation for a method and a path, or null when the document has none. */
  Operation operation(String method, String path) {
    return operations.stream().filter(o -> o.method().equals(method) && o.pattern().matcher(path).matches())
        .findFirst().orElse(null);
  }

  /** Whether the document has the path with any method. */
  boolean hasPath(String path) {
    return operations.stream().anyMatch(o -> o.pattern().matcher(path).matches());
  }

  /**
   * What in a request the document does not describe: undeclared or missing parameters, values
   * that do not fit their schemas, a body where none is taken or one that does not fit.
   *
   * @param headers request headers by lower-case name
   * @param body the body, or null
   */
  List<String> requestViolations(Operation op, String uri, Map<String, String> headers, String body) {
    List<String> out = new ArrayList<>();
    QueryStringDecoder query = new QueryStringDecoder(uri);
    Map<String, List<String>> params = query.parameters();
    Set<String> declared = new TreeSet<>();
    for (JsonNode p : op.node().path("parameters")) {
      String name = p.path("name").asText();
      String in = p.path("in").asText();
      List<String> values = switch (in) {
        case "query" -> params.getOrDefault(name, List.of());
        case "header" -> headers.containsKey(name.toLowerCase(Locale.ROOT))
            ? List.of(headers.get(name.toLowerCase(Locale.ROOT))) : List.of();
        case "path" -> List.of(pathValue(op.template(), query.path(), name));
        default -> throw new IllegalStateException("parameter " + name + " in " + in + " is not checked here");
      };
      if (in.equals("query")) {
        declared.add(name);
      }
      if (values.isEmpty()) {
        if (p.path("required").asBoolean()) {
          out.add("missing required parameter " + name);
        }
        continue;
      }
      JsonNode schema = p.path("schema");
      out.addAll(errors(inline(schema), value(schema, values), in + " parameter " + name));
    }
    JsonNode patterns = op.node().path("x-queryParameterPatterns");
    for (String name : params.keySet()) {
      if (declared.contains(name)) {
        continue;
      }
      Iterator<String> it = patterns.fieldNames();
      String match = null;
      while (it.hasNext() && match == null) {
        String p = it.next();
        match = Pattern.compile(p).matcher(name).find() ? p : null;
      }
      if (match == null) {
        out.add("query parameter " + name + " is not in the document");
      } else {
        JsonNode schema = patterns.path(match).path("schema");
        out.addAll(errors(inline(schema), value(schema, params.get(name)), "query parameter " + name));
      }
    }
    JsonNode requestBody = op.node().path("requestBody");
    if (body == null || body.isEmpty()) {
      if (requestBody.path("required").asBoolean()) {
        out.add("the body is required");
      }
    } else if (requestBody.isMissingNode()) {
      out.add("the operation takes no body");
    } else {
      JsonNode media = requestBody.path("content").path("application/json");
      out.addAll(jsonErrors(schema(media.path("schema")), body, "request body"));
    }
    return out;
  }

  /**
   * What in an answer the document does not promise. {@code op} null: a path or method the
   * document does not have, which must be answered with a problem.
   */
  List<String> responseViolations(Operation op, int status, String contentType, String body) {
    String media = contentType == null ? "" : contentType.split(";")[0].strip().toLowerCase(Locale.ROOT);
    if (op == null) {
      if (status != 404 && status != 405) {
        return List.of("a request outside the document was answered " + status + ", not 404 or 405");
      }
      if (!media.equals("application/problem+json")) {
        return List.of("a request outside the document was answered with " + contentType + ", not a problem");
      }
      return jsonErrors(schema(JSON.createObjectNode().put("$ref", "#/components/schemas/Problem")), body, "problem");
    }
    answered.add(op.id() + " " + status);
    JsonNode response = resolve(op.node().path("responses").path(Integer.toString(status)));
    if (response.isMissingNode()) {
      return List.of(op.id() + " answered " + status + ", which the document does not list (it lists "
          + names(op.node().path("responses")) + ")");
    }
    JsonNode content = response.path("content");
    if (content.isMissingNode()) {
      return body == null || body.isEmpty() ? List.of() : List.of(op.id() + " " + status + " has a body; the document has none");
    }
    JsonNode mediaType = content.path(media);
    if (mediaType.isMissingNode()) {
      return List.of(op.id() + " " + status + " answered " + contentType + "; the document lists " + names(content));
    }
    if (mediaType.has("x-itemSchema")) {
      return List.of();
    }
    Schema schema = schema(mediaType.path("schema"));
    if (media.equals("application/json") || media.endsWith("+json")) {
      return jsonErrors(schema, body, op.id() + " " + status);
    }
    return errors(schema, JsonNodeFactory.instance.textNode(body == null ? "" : body), op.id() + " " + status);
  }

  /** Headers of an answer that the document requires and miss, or that do not fit their schemas. */
  List<String> headerViolations(Operation op, int status, java.util.function.Function<String, String> header) {
    List<String> out = new ArrayList<>();
    resolve(op.node().path("responses").path(Integer.toString(status))).path("headers").fields().forEachRemaining(h -> {
      String value = header.apply(h.getKey());
      if (value == null) {
        if (h.getValue().path("required").asBoolean()) {
          out.add(op.id() + " " + status + " lacks header " + h.getKey());
        }
        return;
      }
      JsonNode schema = h.getValue().path("schema");
      out.addAll(errors(inline(schema), value(schema, List.of(value)), op.id() + " " + status + " header " + h.getKey()));
    });
    return out;
  }

  /** The schema of each item of a streamed answer ({@code x-itemSchema}, as OpenAPI 3.2's {@code itemSchema}). */
  Schema itemSchema(Operation op, int status, String media) {
    JsonNode item = resolve(op.node().path("responses").path(Integer.toString(status))).path("content").path(media)
        .path("x-itemSchema");
    if (item.isMissingNode()) {
      throw new AssertionError(op.id() + " " + status + " " + media + " has no x-itemSchema");
    }
    return schema(item);
  }

  /** What does not fit {@code schema} in the JSON text {@code json}. */
  List<String> jsonErrors(Schema schema, String json, String what) {
    JsonNode node;
    try {
      node = json == null ? null : JSON.readTree(json);
    } catch (IOException e) {
      return List.of(what + " is not JSON: " + e.getMessage());
    }
    if (node == null || node.isMissingNode()) {
      return List.of(what + " is empty");
    }
    return errors(schema, node, what);
  }

  private static List<String> errors(Schema schema, JsonNode node, String what) {
    List<Error> errors = schema.validate(node);
    return errors.stream().map(e -> what + ": " + e.getInstanceLocation() + " " + e.getMessage() + " (" + e.getKeyword()
        + " at " + e.getSchemaLocation() + ")").toList();
  }

  /** A schema of the document: a {@code $ref} to a named one, or an inline one without references. */
  Schema schema(JsonNode schema) {
    if (schema.has("$ref")) {
      return registry.getSchema(SchemaLocation.of(BASE + schema.path("$ref").asText()));
    }
    return inline(schema);
  }

  private Schema inline(JsonNode schema) {
    if (schema.findValue("$ref") != null) {
      throw new AssertionError("an inline schema with references; name it in components/schemas: " + schema);
    }
    return registry.getSchema(schema);
  }

  /** A response given as {@code $ref} to components/responses, resolved. */
  private JsonNode resolve(JsonNode node) {
    return node.has("$ref") ? doc.at(node.path("$ref").asText().substring(1)) : node;
  }

  /** A parameter's text as its schema's type: numbers and booleans converted, arrays collected. */
  private static JsonNode value(JsonNode schema, List<String> values) {
    String type = schema.path("type").asText();
    if (type.equals("array")) {
      ArrayNode array = JsonNodeFactory.instance.arrayNode();
      values.forEach(v -> array.add(scalar(schema.path("items").path("type").asText(), v)));
      return array;
    }
    return values.size() == 1 ? scalar(type, values.get(0))
        : JsonNodeFactory.instance.arrayNode().addAll(values.stream().map(v -> scalar(type, v)).toList());
  }

  private static JsonNode scalar(String type, String text) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    return switch (type) {
      case "boolean" -> text.equals("true") || text.equals("false") ? f.booleanNode(Boolean.parseBoolean(text)) : f.textNode(text);
      case "integer" -> text.matches("-?[0-9]{1,18}") ? f.numberNode(Long.parseLong(text)) : f.textNode(text);
      default -> f.textNode(text);
    };
  }

  private static String pathValue(String template, String path, String name) {
    String[] t = template.split("/");
    String[] p = path.split("/");
    for (int i = 0; i < t.length && i < p.length; i++) {
      if (t[i].equals("{" + name + "}")) {
        return QueryStringDecoder.decodeComponent(p[i]);
      }
    }
    throw new IllegalStateException(template + " has no {" + name + "}");
  }

  private static String names(JsonNode object) {
    List<String> names = new ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return String.join(", ", names);
  }
}
