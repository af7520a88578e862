package io.qmpsidecar.qmp.impl;

import io.netty.channel.Channel;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.channel.unix.UnixChannel;
import io.qmpsidecar.qmp.QmpFdPassingException;
import io.qmpsidecar.qmp.QmpPeer;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.impl.codec.QmpLineFramer;
import io.qmpsidecar.qmp.impl.codec.QmpMessage;
import io.qmpsidecar.qmp.impl.codec.QmpMessageDecoder;
import io.qmpsidecar.qmp.impl.unix.Posix;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.io.IOException;
import java.util.Optional;
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

  private static final byte[] SPACE = {' '};

  private final NetSocket socket;
  private final QmpMessageDecoder decoder;
  private final Handler handler;
  private Throwable endReason;
  private boolean ended;
  private boolean greeted;

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

  /**
   * Sends descriptors with one space (JSON whitespace, which QEMU skips between commands) in a
   * {@code sendmsg} of its own on the socket, ahead of whatever is written next. The pipeline
   * calls it only when nothing is in flight, so no earlier bytes wait in Netty's buffer; it runs
   * on the channel's event loop, as every write does.
   */
  CommandPipeline.FdWriter fdWriter(String peer) {
    return fds -> {
      if (ended) {
        throw new QmpFdPassingException("connection to QEMU at " + peer + " closed before the file"
            + " descriptors could be passed");
      }
      Channel channel = socket instanceof NetSocketInternal internal ? internal.channelHandlerContext().channel() : null;
      if (!(channel instanceof DomainSocketChannel && channel instanceof UnixChannel unix)) {
        throw new QmpFdPassingException("passing file descriptors to QEMU at " + peer + " needs Vert.x's"
            + " native epoll transport: put io.netty:netty-transport-native-epoll (classifier linux-x86_64)"
            + " on the classpath and create Vert.x with setPreferNativeTransport(true); this connection uses "
            + (channel == null ? socket.getClass().getSimpleName() : channel.getClass().getSimpleName()));
      }
      try {
        Posix.sendWithFds(unix.fd().intValue(), SPACE, fds);
      } catch (IOException e) {
        throw new QmpFdPassingException("cannot pass file descriptors to QEMU at " + peer + ": "
            + e.getMessage(), e);
      }
    };
  }

  /**
   * The peer's credentials from Netty's native domain socket channel ({@code peerCredentials()} of
   * the epoll channel, found by reflection: the epoll module is the application's choice, not
   * this library's dependency); empty for any other channel or when the kernel does not answer.
   */
  Optional<QmpPeer> peer() {
    Channel channel = socket instanceof NetSocketInternal internal ? internal.channelHandlerContext().channel() : null;
    if (!(channel instanceof DomainSocketChannel)) {
      return Optional.empty();
    }
    try {
      PeerCredentials c = (PeerCredentials) channel.getClass().getMethod("peerCredentials").invoke(channel);
      int[] gids = c.gids();
      return Optional.of(new QmpPeer(c.pid(), c.uid(), gids.length > 0 ? gids[0] : -1));
    } catch (ReflectiveOperationException | ClassCastException e) {
      return Optional.empty();
    }
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
    greeted |= message instanceof QmpMessage.Greeting;
    handler.onMessage(this, message);
  }

  /** Whether QEMU's greeting has arrived on this session. */
  boolean greeted() {
    return greeted;
  }

  private void end() {
    if (!ended) {
      ended = true;
      handler.onEnd(this, endReason);
    }
  }
}
