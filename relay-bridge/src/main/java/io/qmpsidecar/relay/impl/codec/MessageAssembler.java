package io.qmpsidecar.relay.impl.codec;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import java.nio.charset.StandardCharsets;

/**
 * Joins WebSocket frames into text messages without holding more than the size limit: the frames
 * of a larger message are counted and dropped, so memory stays bounded and the link stays up.
 */
public final class MessageAssembler {

  /** What the assembler hands on. */
  public interface Sink {
    void message(String text);

    /** A message larger than the limit ended; {@code bytes} is its full size. */
    void oversized(long bytes);

    /** A binary message ended; the protocol is text only. */
    void binary();
  }

  private final int maxBytes;
  private final Sink sink;
  private Buffer pending;
  private long size;
  private boolean inMessage;
  private boolean text;

  public MessageAssembler(int maxBytes, Sink sink) {
    this.maxBytes = maxBytes;
    this.sink = sink;
  }

  public void frame(WebSocketFrame frame) {
    if (!frame.isText() && !frame.isBinary() && !frame.isContinuation()) {
      return;
    }
    if (!frame.isContinuation()) {
      inMessage = true;
      text = frame.isText();
      size = 0;
      pending = null;
    } else if (!inMessage) {
      return;
    }
    Buffer data = frame.binaryData();
    size += data.length();
    if (text && size <= maxBytes) {
      if (pending == null) {
        pending = frame.isFinal() ? data : Buffer.buffer((int) Math.min(maxBytes, 4 * size)).appendBuffer(data);
      } else {
        pending.appendBuffer(data);
      }
    } else {
      pending = null;
    }
    if (frame.isFinal()) {
      inMessage = false;
      Buffer done = pending;
      pending = null;
      if (!text) {
        sink.binary();
      } else if (size > maxBytes) {
        sink.oversized(size);
      } else {
        sink.message(done.toString(StandardCharsets.UTF_8));
      }
    }
  }
}
