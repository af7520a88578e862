package io.qmpsidecar.relay.impl.codec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import java.util.LinkedHashMap;
import java.util.Map;

/** JSON-RPC 2.0 text to {@link RpcMessage} and back. Unknown members are ignored everywhere. */
public final class JsonRpcCodec {

  /** Shared, thread-safe once configured. */
  public static final ObjectMapper MAPPER = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  private JsonRpcCodec() {}

  /** Decodes one message; batches are refused (the protocol never sends them). */
  public static RpcMessage decode(String text) throws RpcDecodeException {
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new RpcDecodeException(null, RelayError.of(ErrorCode.PARSE_ERROR,
          "message is not valid JSON (" + e.getOriginalMessage() + "); send one JSON-RPC 2.0 object per message"));
    }
    if (root == null || !root.isObject()) {
      throw invalid(null, "message is not a JSON object; batches are not supported, send one request per message");
    }
    JsonNode id = root.get("id");
    JsonNode version = root.get("jsonrpc");
    if (version == null || !version.isTextual() || !"2.0".equals(version.textValue())) {
      throw invalid(id, "member \"jsonrpc\" must be \"2.0\"");
    }
    if (id != null && !(id.isTextual() || id.isIntegralNumber() || id.isNull())) {
      throw invalid(null, "member \"id\" must be a string or an integer");
    }
    JsonNode method = root.get("method");
    if (method != null) {
      if (!method.isTextual() || method.asText().isEmpty()) {
        throw invalid(id, "member \"method\" must be a non-empty string");
      }
      if (id != null && id.isNull()) {
        throw invalid(null, "member \"id\" of a request must be a string or an integer, not null"
            + " (a null id marks answers to messages that could not be read)");
      }
      JsonNode params = root.get("params");
      if (params != null && !params.isObject()) {
        throw new RpcDecodeException(id, new RelayError(ErrorCode.INVALID_PARAMS,
            "member \"params\" must be an object (by-name parameters only)", Map.of("member", "params")));
      }
      params = params == null ? MAPPER.createObjectNode() : params;
      return id == null ? new RpcMessage.Notification(method.asText(), params)
          : new RpcMessage.Request(id, method.asText(), params);
    }
    if (id == null) {
      throw invalid(null, "message has neither \"method\" nor \"id\"");
    }
    if (root.has("result")) {
      return new RpcMessage.Result(id, root.get("result"));
    }
    JsonNode error = root.get("error");
    if (error != null && error.isObject()) {
      return new RpcMessage.Error(id, toError(error));
    }
    throw invalid(id, "response has neither \"result\" nor an \"error\" object");
  }

  /** Encodes a request with a numeric id. */
  public static String request(long id, String method, Object params) {
    ObjectNode n = envelope();
    n.put("id", id);
    n.put("method", method);
    n.set("params", MAPPER.valueToTree(params));
    return n.toString();
  }

  public static String notification(String method, Object params) {
    ObjectNode n = envelope();
    n.put("method", method);
    n.set("params", MAPPER.valueToTree(params));
    return n.toString();
  }

  /** A host notification with its sequence number first among the params. */
  public static String sequencedNotification(String method, long seq, Map<String, Object> params) {
    Map<String, Object> p = new LinkedHashMap<>(params.size() + 1);
    p.put("seq", seq);
    p.putAll(params);
    Map<String, Object> n = new LinkedHashMap<>(4);
    n.put("jsonrpc", "2.0");
    n.put("method", method);
    n.put("params", p);
    try {
      return MAPPER.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("notification " + method
          + " has params that cannot be written as JSON: " + e.getOriginalMessage(), e);
    }
  }

  public static String result(JsonNode id, Object result) {
    ObjectNode n = envelope();
    n.set("id", id);
    n.set("result", MAPPER.valueToTree(result));
    return n.toString();
  }

  public static String error(JsonNode id, RelayError error) {
    ObjectNode n = envelope();
    n.set("id", id);
    n.set("error", errorNode(error));
    return n.toString();
  }

  /** The JSON-RPC error object for an error. */
  public static ObjectNode errorNode(RelayError error) {
    ObjectNode e = MAPPER.createObjectNode();
    e.put("code", error.code().wireCode());
    e.put("message", error.message());
    if (!error.data().isEmpty()) {
      e.set("data", MAPPER.valueToTree(error.data()));
    }
    return e;
  }

  /** Reads a JSON-RPC error object; an unknown code keeps the number in data as "code". */
  public static RelayError toError(JsonNode error) {
    int wire = error.path("code").asInt(ErrorCode.INTERNAL_ERROR.wireCode());
    ErrorCode code = ErrorCode.fromWire(wire);
    Map<String, Object> data = new LinkedHashMap<>();
    JsonNode d = error.get("data");
    if (d != null && d.isObject()) {
      data.putAll(toMap(d));
    }
    if (code == ErrorCode.UNKNOWN) {
      data.put("code", wire);
    }
    return new RelayError(code, error.path("message").asText("no message"), data);
  }

  /** A JSON object as plain maps and lists. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> toMap(JsonNode node) {
    return MAPPER.convertValue(node, Map.class);
  }

  private static ObjectNode envelope() {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("jsonrpc", "2.0");
    return n;
  }

  private static RpcDecodeException invalid(JsonNode id, String message) {
    return new RpcDecodeException(id, RelayError.of(ErrorCode.INVALID_REQUEST, message));
  }
}
