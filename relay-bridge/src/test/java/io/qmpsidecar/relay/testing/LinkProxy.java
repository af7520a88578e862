package io.qmpsidecar.relay.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy between host and DPU that a test can break: close every connection,
 * silently drop all traffic of the current connections (a peer that stops answering), close the
 * links as the DPU would but leave their TCP connections open, or stop listening altogether.
 */
public final class LinkProxy {

  private final class Pair {
    final NetSocket front;
    final NetSocket back;
    volatile boolean frozen;

    Pair(NetSocket front, NetSocket back) {
      this.front = front;
      this.back = back;
    }
  }

  private final Vertx vertx;
  private final int targetPort;
  private final NetClient client;
  private final List<Pair> pairs = new CopyOnWriteArrayList<>();
  private final List<Pair> lingering = new CopyOnWriteArrayList<>();
  private NetServer server;
  private int port;

  public LinkProxy(Vertx vertx, int targetPort) {
    this.vertx = vertx;
    this.targetPort = targetPort;
    this.client = vertx.createNetClient();
  }

  /** Listens on {@code port} (0 for any) and returns the bound port. */
  public int start(int port) {
    server = vertx.createNetServer().connectHandler(this::connect);
    this.port = Await.result(server.listen(port, "127.0.0.1")).actualPort();
    return this.port;
  }

  public int port() {
    return port;
  }

  /** Closes every current connection (both sides), as a broken TCP link would. */
  public void cutAll() {
    for (Pair p : pairs) {
      p.front.close();
      p.back.close();
    }
    pairs.clear();
  }

  /** Current connections stay open but carry nothing more; new connections work. */
  public void freezeAll() {
    for (Pair p : pairs) {
      p.frozen = true;
    }
    pairs.clear();
  }

  /**
   * Sends the host of each current connection a WebSocket close frame (1001, going away), as a DPU
   * end that shuts down does, then carries nothing more on it and leaves its TCP connection open,
   * as a DPU that vanishes right after its close frame would: only the host can end it. Call it
   * while the link is idle, so that the frame starts on a frame boundary.
   */
  public void closeFromDpuAll() {
    byte[] reason = "going away".getBytes(StandardCharsets.UTF_8);
    Buffer frame = Buffer.buffer().appendByte((byte) 0x88).appendByte((byte) (2 + reason.length))
        .appendShort((short) 1001).appendBytes(reason);
    for (Pair p : pairs) {
      p.frozen = true;
      lingering.add(p);
      p.front.write(frame);
    }
    pairs.clear();
  }

  /** Connections {@link #closeFromDpuAll} left open that the host has not ended yet. */
  public int lingering() {
    return lingering.size();
  }

  /** Stops listening and cuts every connection. */
  public void stop() {
    cutAll();
    Await.result(server.close());
  }

  private void connect(NetSocket front) {
    front.pause();
    client.connect(targetPort, "127.0.0.1").onComplete(ar -> {
      if (ar.failed()) {
        front.close();
        return;
      }
      NetSocket back = ar.result();
      Pair pair = new Pair(front, back);
      pairs.add(pair);
      front.handler(b -> {
        if (!pair.frozen) {
          back.write(b);
        }
      });
      back.handler(b -> {
        if (!pair.frozen) {
          front.write(b);
        }
      });
      front.closeHandler(v -> {
        lingering.remove(pair);
        if (!pair.frozen) {
          back.close();
        }
      });
      back.closeHandler(v -> {
        if (!pair.frozen) {
          front.close();
        }
      });
      front.resume();
    });
  }
}
