package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;

/**
 * The answer to one request: a result or an error, as stored for idempotency.
 *
 * @param result the result member, or null
 * @param error the error, or null
 */
record Outcome(JsonNode result, RelayError error) {

  static Outcome success(Object result) {
    return new Outcome(JsonRpcCodec.MAPPER.valueToTree(result), null);
  }

  static Outcome failure(RelayError error) {
    return new Outcome(null, error);
  }

  String toJson() {
    ObjectNode n = JsonRpcCodec.MAPPER.createObjectNode();
    if (error != null) {
      n.set("error", JsonRpcCodec.errorNode(error));
    } else {
      n.set("result", result);
    }
    return n.toString();
  }

  static Outcome fromJson(String json) throws JsonProcessingException {
    JsonNode n = JsonRpcCodec.MAPPER.readTree(json);
    return n.has("error") ? failure(JsonRpcCodec.toError(n.get("error"))) : new Outcome(n.get("result"), null);
  }
}
