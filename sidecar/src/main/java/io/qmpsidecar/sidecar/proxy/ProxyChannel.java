package io.qmpsidecar.sidecar.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannelConfig;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * What the proxy needs from a client's socket below Vert.x's {@link NetSocket}, reached through
 * Vert.x 5's {@link NetSocketInternal} (the channel of a connection): the peer's credentials
 * (SO_PEERCRED), half-closed connections (a client that shuts down its sending side still gets
 * every reply), and reading on and off without Vert.x buffering what was read meanwhile.
 * Works with Netty's epoll transport (what the sidecar uses) and with the JDK's Unix sockets.
 * Confined to the connection's event loop.
 */
final class ProxyChannel {
  private final Channel channel;

  ProxyChannel(NetSocket socket) {
    this.channel = ((NetSocketInternal) socket).channelHandlerContext().channel();
  }

  /**
   * Keeps the connection open for replies when the client shuts down its sending side, and
   * calls {@code onInputEnd} then. Must be called in the connect handler, before the first read.
   */
  void onInputEnd(NetSocket socket, Runnable onInputEnd) {
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
