package io.qmpsidecar.sidecar.proxy;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * What a client sent and the proxy has not read yet, fed byte by byte to QEMU's streamer. While
 * paused it keeps what arrived (at most one read of the socket, because the session stops
 * reading it too) and feeds nothing on. Confined to the session's context.
 */
final class ClientInput implements Handler<Buffer> {
  private static final int COMPACT_AT = 64 * 1024;

  private final QemuJsonStreamer streamer;
  private Buffer pending = Buffer.buffer();
  private int pos;
  private boolean paused;
  private boolean draining;

  ClientInput(QemuJsonStreamer streamer) {
    this.streamer = streamer;
  }

  @Override
  public void handle(Buffer chunk) {
    pending.appendBuffer(chunk);
    drain();
  }

  void pause() {
    paused = true;
  }

  void resume() {
    paused = false;
    drain();
  }

  /** Whether every byte received so far has been read. */
  boolean consumed() {
    return pos >= pending.length();
  }

  private void drain() {
    if (draining) {
      return;
    }
    draining = true;
    try {
      while (!paused && pos < pending.length()) {
        streamer.feed(pending.getByte(pos++));
      }
      if (pos == pending.length()) {
        pending = Buffer.buffer();
        pos = 0;
      } else if (pos > COMPACT_AT) {
        pending = pending.getBuffer(pos, pending.length());
        pos = 0;
      }
    } finally {
      draining = false;
    }
  }
}
