package io.qmpsidecar.relay.impl.codec;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.relay.RelayError;

/** One decoded JSON-RPC 2.0 message. Ids are kept as JSON (string or number) to echo them back. */
public sealed interface RpcMessage {

  /** A call that wants an answer. */
  record Request(JsonNode id, String method, JsonNode params) implements RpcMessage {}

  /** A call without an id: no answer. */
  record Notification(String method, JsonNode params) implements RpcMessage {}

  /** A successful answer. */
  record Result(JsonNode id, JsonNode result) implements RpcMessage {}

  /** An error answer; {@code id} is a JSON null when the request's id could not be read. */
  record Error(JsonNode id, RelayError error) implements RpcMessage {}
}
