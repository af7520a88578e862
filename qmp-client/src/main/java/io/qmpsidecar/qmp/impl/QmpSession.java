package io.qmpsidecar.qmp.impl;

import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.impl.codec.QmpLineFramer;
import io.qmpsidecar.qmp.impl.codec.QmpMessage;
import io.qmpsidecar.qmp.impl.codec.QmpMessageDecoder;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.util.function.Consumer;

/**
 * One open socket to QEMU: frames and decodes what arrives and reports it, writes commands, and
 * reports its end exactly once with the reason. Confined to the connection's context.
 */
final class QmpSession {

  /** What the connection does with a session's traffic. */
  interface Handler {
    void onMessage(QmpSession session, QmpMessage message);

    void onEnd(QmpSession session, Throwable reason);
  }

  private final NetSocket socket;
  private final QmpMessageDecoder decoder;
  private final Handler handler;
  private Throwable endReason;
  private boolean ended;

  QmpSession(NetSocket socket, QmpMessageDecoder decoder, int maxLineBytes, Handler handler) {
    this.socket = socket;
    this.decoder = decoder;
    this.handler = handler;
    QmpLineFramer framer = new QmpLineFramer(maxLineBytes, this::onLine, this::abort);
    socket.handler(framer);
    socket.exceptionHandler(e -> {
      if (endReason == null) {
        endReason = e;
      }
    });
    socket.closeHandler(v -> end());
  }

  Consumer<Buffer> writer() {
    return buffer -> {
      if (!ended) {
        socket.write(buffer);
      }
    };
  }

  /** Closes the socket; {@code reason} is what the connection's callers are told. */
  void abort(Throwable reason) {
    if (endReason == null) {
      endReason = reason;
    }
    socket.close();
  }

  private void onLine(byte[] line) {
    if (ended) {
      return;
    }
    QmpMessage message;
    try {
      message = decoder.decode(line);
    } catch (QmpProtocolException e) {
      abort(e);
      return;
    }
    handler.onMessage(this, message);
  }

  private void end() {
    if (!ended) {
      ended = true;
      handler.onEnd(this, endReason);
    }
  }
}
