package io.qmpsidecar.relay;

/** The JSON-RPC error codes of the relay protocol (docs/relay-protocol.md lists them with examples). */
public enum ErrorCode {
  PARSE_ERROR(-32700),
  INVALID_REQUEST(-32600),
  METHOD_NOT_FOUND(-32601),
  INVALID_PARAMS(-32602),
  INTERNAL_ERROR(-32603),
  POLICY_DENIED(-32001),
  NOT_FOUND(-32002),
  BUSY_MIGRATING(-32003),
  QEMU_ERROR(-32004),
  GUEST_UNPLUG_TIMEOUT(-32005),
  HOST_PREREQUISITE(-32006),
  MIGRATION_BLOCKED(-32007),
  MESSAGE_TOO_LARGE(-32010),
  TOO_MANY_REQUESTS(-32011),
  OP_ID_CONFLICT(-32012),
  OP_INTERRUPTED(-32013),
  UNSUPPORTED_VERSION(-32014),
  NOT_READY(-32015),
  /** A code this version does not know; the original code is kept in the error's data as "code". */
  UNKNOWN(-32099);

  private final int wireCode;

  ErrorCode(int wireCode) {
    this.wireCode = wireCode;
  }

  /** The integer sent in the JSON-RPC {@code error.code} member. */
  public int wireCode() {
    return wireCode;
  }

  /** The code for a wire integer, {@link #UNKNOWN} when this version does not know it. */
  public static ErrorCode fromWire(int code) {
    for (ErrorCode c : values()) {
      if (c.wireCode == code) {
        return c;
      }
    }
    return UNKNOWN;
  }
}
