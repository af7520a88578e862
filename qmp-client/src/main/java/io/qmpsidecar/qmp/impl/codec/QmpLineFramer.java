package io.qmpsidecar.qmp.impl.codec;

import io.qmpsidecar.qmp.QmpProtocolException;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.parsetools.RecordParser;
import java.util.function.Consumer;

/**
 * Splits the byte stream from QEMU into lines (QEMU ends them with CRLF), refusing any line
 * longer than the limit before it is buffered whole. Blank lines are skipped.
 */
public final class QmpLineFramer implements Handler<Buffer> {
  private final RecordParser parser;
  private boolean failed;

  public QmpLineFramer(int maxLineBytes, Consumer<byte[]> lines, Consumer<QmpProtocolException> errors) {
    this.parser = RecordParser.newDelimited("\n", record -> {
      if (failed) {
        return;
      }
      if (record.length() > maxLineBytes + 1) {
        tooLong(maxLineBytes, errors);
        return;
      }
      int length = record.length();
      if (length > 0 && record.getByte(length - 1) == '\r') {
        length--;
      }
      if (length > 0) {
        lines.accept(record.getBytes(0, length));
      }
    });
    parser.maxRecordSize(maxLineBytes);
    // The parser bounds what it buffers while a line is incomplete; a whole line that arrives
    // in one read is checked above.
    parser.exceptionHandler(e -> tooLong(maxLineBytes, errors));
  }

  private void tooLong(int maxLineBytes, Consumer<QmpProtocolException> errors) {
    failed = true;
    errors.accept(new QmpProtocolException("QEMU sent a line longer than " + maxLineBytes
        + " bytes; raise maxLineBytes if this QEMU really sends such replies"));
  }

  @Override
  public void handle(Buffer chunk) {
    if (!failed) {
      parser.handle(chunk);
    }
  }
}
