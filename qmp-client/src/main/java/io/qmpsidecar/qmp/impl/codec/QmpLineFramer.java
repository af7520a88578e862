package io.qmpsidecar.qmp.impl.codec;

import io.qmpsidecar.qmp.QmpProtocolException;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Splits the byte stream from QEMU into lines (QEMU ends them with CRLF), refusing any line
 * longer than the limit before it is buffered whole. Blank lines are skipped. A line that
 * arrives whole in one read is copied once, straight out of that read; only the start of a
 * line that continues in a later read is kept here.
 */
public final class QmpLineFramer implements Handler<Buffer> {
  private static final byte[] NONE = {};
  /** The most this keeps allocated for line starts once a line is done (a schema is ~236 KB). */
  private static final int KEEP_AFTER_LINE = 4096;
  private final int maxLineBytes;
  private final Consumer<byte[]> lines;
  private final Consumer<QmpProtocolException> errors;
  private byte[] partial = NONE;
  private int partialLength;
  private boolean failed;

  public QmpLineFramer(int maxLineBytes, Consumer<byte[]> lines, Consumer<QmpProtocolException> errors) {
    this.maxLineBytes = maxLineBytes;
    this.lines = lines;
    this.errors = errors;
  }

  @Override
  public void handle(Buffer chunk) {
    int length = chunk.length();
    int start = 0;
    for (int i = 0; i < length && !failed; i++) {
      if (chunk.getByte(i) == '\n') {
        line(chunk, start, i);
        start = i + 1;
      }
    }
    if (!failed && start < length) {
      keep(chunk, start, length);
    }
  }

  /** The line made of what is kept and {@code chunk[from, to)}, without its CR. */
  private void line(Buffer chunk, int from, int to) {
    int length = partialLength + to - from;
    if (length > 0 && (to > from ? chunk.getByte(to - 1) : partial[partialLength - 1]) == '\r') {
      length--;
    }
    if (length > maxLineBytes) {
      tooLong();
      return;
    }
    if (length > 0) {
      byte[] line = new byte[length];
      int kept = Math.min(partialLength, length);
      System.arraycopy(partial, 0, line, 0, kept);
      if (length > kept) {
        chunk.getBytes(from, from + length - kept, line, kept);
      }
      lines.accept(line);
    }
    partialLength = 0;
    if (partial.length > KEEP_AFTER_LINE) {
      partial = NONE;
    }
  }

  /** Keeps {@code chunk[from, to)}, the start of a line; a CR may still follow the limit. */
  private void keep(Buffer chunk, int from, int to) {
    int length = partialLength + to - from;
    if (length > maxLineBytes + 1) {
      tooLong();
      return;
    }
    if (length > partial.length) {
      partial = Arrays.copyOf(partial, Math.min(maxLineBytes + 1, Math.max(length, partial.length * 2)));
    }
    chunk.getBytes(from, to, partial, partialLength);
    partialLength = length;
  }

  private void tooLong() {
    failed = true;
    partial = NONE;
    partialLength = 0;
    errors.accept(new QmpProtocolException("QEMU sent a line longer than " + maxLineBytes
        + " bytes; raise maxLineBytes if this QEMU really sends such replies"));
  }
}
