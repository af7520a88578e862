package io.qmpsidecar.relay.impl.codec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.qmpsidecar.relay.RelayError;

/** A message that is not valid JSON-RPC; carries the error to answer with and the id if known. */
public final class RpcDecodeException extends Exception {

  private final transient JsonNode id;
  private final transient RelayError error;

  RpcDecodeException(JsonNode id, RelayError error) {
    super(error.message(), null, false, false);
    this.id = id == null ? NullNode.getInstance() : id;
    this.error = error;
  }

  /** The offending message's id, or JSON null. */
  public JsonNode id() {
    return id;
  }

  public RelayError error() {
    return error;
  }
}
