package io.qmpsidecar.sidecar.proxy;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import java.util.function.Consumer;

/**
 * Splits a client's byte stream into JSON values the way QEMU's JSON streamer does: a value
 * ends where its outermost object or array closes, newline or not (go-qemu, for one, sends
 * commands without a newline), so {@code {…}{…}} on one line is two commands. Anything that does
 * not start with {@code {} or {@code [} runs to the end of its line and is handed on as one
 * (malformed) value, so it gets QEMU's parse error. Strings in double or single quotes (QEMU
 * accepts both) may hold brackets.
 *
 * <p>While paused it hands nothing on and keeps what arrived, which is bounded because the
 * session pauses the socket too. A value longer than the limit stops the splitter and reports
 * once. Confined to the session's context.
 */
final class JsonValueSplitter implements Handler<Buffer> {
  private final int maxBytes;
  private final Consumer<byte[]> values;
  private final Runnable tooLong;
  private Buffer pending = Buffer.buffer();
  private int pos;
  /** Where the value being read starts in {@link #pending}, or -1 between values. */
  private int start = -1;
  private boolean bare;
  private int depth;
  private byte quote;
  private boolean escaped;
  private boolean paused;
  private boolean draining;
  private boolean failed;

  JsonValueSplitter(int maxBytes, Consumer<byte[]> values, Runnable tooLong) {
    this.maxBytes = maxBytes;
    this.values = values;
    this.tooLong = tooLong;
  }

  @Override
  public void handle(Buffer chunk) {
    if (!failed) {
      pending.appendBuffer(chunk);
      drain();
    }
  }

  void pause() {
    paused = true;
  }

  void resume() {
    paused = false;
    drain();
  }

  private void drain() {
    if (draining) {
      return;
    }
    draining = true;
    try {
      while (!paused && !failed && pos < pending.length()) {
        step(pending.getByte(pos++));
        if (start >= 0 && pos - start > maxBytes) {
          failed = true;
          tooLong.run();
        }
      }
      compact();
    } finally {
      draining = false;
    }
  }

  private void step(byte b) {
    if (start < 0) {
      if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
        start = pos - 1;
        bare = b != '{' && b != '[';
        depth = bare ? 0 : 1;
        quote = 0;
        escaped = false;
      }
    } else if (bare) {
      if (b == '\n') {
        emit(pos - 1);
      }
    } else if (quote != 0) {
      if (escaped) {
        escaped = false;
      } else if (b == '\\') {
        escaped = true;
      } else if (b == quote) {
        quote = 0;
      }
    } else if (b == '"' || b == '\'') {
      quote = b;
    } else if (b == '{' || b == '[') {
      depth++;
    } else if ((b == '}' || b == ']') && --depth == 0) {
      emit(pos);
    }
  }

  private void emit(int end) {
    int length = end - start;
    if (length > 0 && pending.getByte(end - 1) == '\r') {
      length--;
    }
    byte[] value = pending.getBytes(start, start + length);
    start = -1;
    values.accept(value);
  }

  private void compact() {
    int keepFrom = start >= 0 ? start : pos;
    if (keepFrom > 0) {
      pending = pending.getBuffer(keepFrom, pending.length());
      pos -= keepFrom;
      if (start >= 0) {
        start = 0;
      }
    }
  }
}
