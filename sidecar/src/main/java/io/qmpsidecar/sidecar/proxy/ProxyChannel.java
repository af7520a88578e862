package io.qmpsidecar.sidecar.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannelConfig;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the proxy needs from a client's socket below Vert.x's {@link NetSocket}, reached through
 * Vert.x 5's {@link NetSocketInternal} (the channel of a connection): the peer's credentials
 * (SO_PEERCRED), half-closed connections (a client that shuts down its sending side still gets
 * every reply), and reading on and off without Vert.x buffering what was read meanwhile.
 * Works with Netty's epoll transport (what the sidecar uses) and with the JDK's Unix sockets.
 * Confined to the connection's event loop.
 */
final class ProxyChannel {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyChannel.class);
  private static volatile boolean warned;
  private final Channel channel;

  ProxyChannel(NetSocket socket) {
    this.channel = ((NetSocketInternal) socket).channelHandlerContext().channel();
  }

  /**
   * Keeps the connection open for replies when the client shuts down its sending side, and
   * calls {@code onInputEnd} then. Must be called in the connect handler, before the first read.
   */
  void onInputEnd(NetSocket socket, Runnable onInputEnd) {
    keepEpollRegistration();
    // The option is a method of duplex configs: the NIO domain socket config ignores setOption.
    if (channel.config() instanceof DuplexChannelConfig duplex) {
      duplex.setAllowHalfClosure(true);
    } else {
      channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }
    ((NetSocketInternal) socket).eventHandler(event -> {
      if (event instanceof ChannelInputShutdownEvent) {
        onInputEnd.run();
      }
    });
  }

  /**
   * Netty 4.2's epoll transport removes a channel from epoll when it waits for no event any
   * more, yet remembers it as registered: the next wait (for the socket to take more output)
   * then fails with "epoll_ctl(..) failed: No such file or directory" and Netty shuts the output
   * down. A half-closed channel waits for nothing once its end of input is read, so a reply that
   * does not fit in the socket at once would be lost. Waiting for EPOLLERR too (which epoll
   * reports anyway) keeps the set of events never empty. Called by name, as
   * {@link #nativePeerCredentials}.
   */
  private void keepEpollRegistration() {
    if (!channel.getClass().getName().startsWith("io.netty.channel.epoll.")) {
      return;
    }
    try {
      Class<?> ops = Class.forName("io.netty.channel.epoll.EpollIoOps");
      int err = (Integer) ops.getMethod("value").invoke(ops.getField("EPOLLERR").get(null));
      Method setFlag = Class.forName("io.netty.channel.epoll.AbstractEpollChannel")
          .getDeclaredMethod("setFlag", int.class);
      setFlag.setAccessible(true);
      setFlag.invoke(channel, err);
    } catch (ReflectiveOperationException | RuntimeException e) {
      if (!warned) {
        warned = true;
        LOG.warn("QMP proxy: cannot keep half-closed clients registered with Netty's epoll ({});"
            + " a client that shuts down its sending side may lose replies that do not fit in its"
            + " socket at once", e.toString());
      }
    }
  }

  /**
   * Closes the connection at once, dropping what the client has not taken yet. Vert.x's handler
   * in the channel's pipeline defers a close until what it has queued is written, so the close
   * starts below it, from the first handler's context towards the socket.
   */
  void closeNow() {
    ChannelHandlerContext first = channel.pipeline().firstContext();
    if (first == null) {
      channel.close();
    } else {
      first.close();
    }
  }

  /** Completes when the connection is closed, however it ends. */
  Future<Void> closed() {
    Promise<Void> closed = Promise.promise();
    channel.closeFuture().addListener(f -> closed.tryComplete());
    return closed.future();
  }

  /**
   * Reads the socket or stops reading it. Unlike {@link NetSocket#pause()}, nothing read is
   * held back by Vert.x, so the end of input is never reported before the data ahead of it.
   */
  void reading(boolean on) {
    channel.config().setAutoRead(on);
  }

  /** The peer's credentials as the kernel reports them, or null when the transport has none. */
  PeerIdentity peer() throws IOException {
    if (channel instanceof DomainSocketChannel) {
      PeerCredentials c = nativePeerCredentials();
      int[] gids = c.gids();
      return PeerIdentity.ofIds(c.pid(), c.uid(), gids.length > 0 ? gids[0] : -1);
    }
    UnixDomainPrincipal p;
    try {
      p = channel.config().getOption(NioChannelOption.of(ExtendedSocketOptions.SO_PEERCRED));
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return null;
    }
    return p == null ? null : PeerIdentity.ofNames(p.user().getName(), p.group().getName());
  }

  /**
   * {@code peerCredentials()} of Netty's native domain socket channels (epoll, kqueue). Called by
   * name: the sidecar ships the native transport as a runtime dependency only.
   */
  private PeerCredentials nativePeerCredentials() throws IOException {
    try {
      return (PeerCredentials) channel.getClass().getMethod("peerCredentials").invoke(channel);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IOException("Netty's " + channel.getClass().getSimpleName()
          + " has no peerCredentials(): " + e, e);
    }
  }
}
