package io.qmpsidecar.relay;

/** The peer broke the protocol: no common version, a bad handshake, a gap in sequence numbers. */
public class RelayProtocolException extends RelayException {

  public RelayProtocolException(String message) {
    super(message);
  }
}
