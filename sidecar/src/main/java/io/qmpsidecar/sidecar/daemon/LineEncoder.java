package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;

/** An encoder of one line per event, with no header or footer: the daemon's human and JSON lines. */
abstract class LineEncoder extends EncoderBase<ILoggingEvent> {
  private static final byte[] NONE = new byte[0];

  @Override
  public final byte[] headerBytes() {
    return NONE;
  }

  @Override
  public final byte[] footerBytes() {
    return NONE;
  }
}
