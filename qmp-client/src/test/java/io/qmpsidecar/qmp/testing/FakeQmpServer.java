package io.qmpsidecar.qmp.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.QmpAddress;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * A scriptable QMP server on a Unix socket, for protocol cases a real QEMU will not produce on
 * demand (delays, closing mid-call, events before the greeting, errors without id, no
 * greeting, garbage). By default it greets like QEMU 10.0 with {@code oob} and answers every
 * command with an empty {@code return}; {@link #onCommand} replaces the answering.
 */
public final class FakeQmpServer implements AutoCloseable {
  public static final String GREETING = "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":0,\"minor\":0,\"major\":10},"
      + "\"package\":\"fake\"},\"capabilities\":[\"oob\"]}}";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One connected client, as the script sees it. */
  public static final class Peer {
    private final Vertx vertx;
    private final NetSocket socket;

    Peer(Vertx vertx, NetSocket socket) {
      this.vertx = vertx;
      this.socket = socket;
    }

    public void send(String line) {
      socket.write(line + "\r\n");
    }

    public void sendLater(long millis, String line) {
      vertx.setTimer(millis, t -> send(line));
    }

    /** A reply {@code {"return":{}}} with the request's id, if it had one. */
    public void ok(JsonNode request) {
      send(reply(request, "\"return\":{}"));
    }

    public void close() {
      socket.close();
    }
  }

  private final Vertx vertx;
  private final Path path;
  private final NetServer server;
  private final List<JsonNode> received = new CopyOnWriteArrayList<>();
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private volatile boolean greet = true;
  private volatile boolean negotiate = true;
  private volatile List<String> beforeGreeting = List.of();
  private volatile BiConsumer<JsonNode, Peer> script = (request, peer) -> peer.ok(request);

  public FakeQmpServer(Vertx vertx, Path dir) {
    this.vertx = vertx;
    this.path = dir.resolve("fake.qmp");
    this.server = vertx.createNetServer().connectHandler(this::accept);
    Await.result(server.listen(SocketAddress.domainSocketAddress(path.toString())));
  }

  public QmpAddress address() {
    return QmpAddress.unix(path);
  }

  /** Replaces how commands other than {@code qmp_capabilities} are answered. */
  public FakeQmpServer onCommand(BiConsumer<JsonNode, Peer> script) {
    this.script = script;
    return this;
  }

  public FakeQmpServer greet(boolean greet) {
    this.greet = greet;
    return this;
  }

  /** Whether {@code qmp_capabilities} is answered (it is by default). */
  public FakeQmpServer negotiate(boolean negotiate) {
    this.negotiate = negotiate;
    return this;
  }

  /** Lines sent as soon as a client connects, before the greeting. */
  public FakeQmpServer sendBeforeGreeting(String... lines) {
    this.beforeGreeting = List.of(lines);
    return this;
  }

  /** Every request received, in order, including {@code qmp_capabilities}. */
  public List<JsonNode> received() {
    return received;
  }

  public List<Peer> peers() {
    return peers;
  }

  /** The reply line for {@code request} with the given body members, echoing its id. */
  public static String reply(JsonNode request, String body) {
    JsonNode id = request.get("id");
    return "{" + body + (id == null ? "" : ",\"id\":" + id) + "}";
  }

  private void accept(NetSocket socket) {
    Peer peer = new Peer(vertx, socket);
    peers.add(peer);
    RecordParser parser = RecordParser.newDelimited("\n", line -> handle(peer, line));
    socket.handler(parser);
    beforeGreeting.forEach(peer::send);
    if (greet) {
      peer.send(GREETING);
    }
  }

  private void handle(Peer peer, Buffer line) {
    JsonNode request;
    try {
      request = MAPPER.readTree(line.getBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    received.add(request);
    if ("qmp_capabilities".equals(request.path("execute").asText())) {
      if (negotiate) {
        peer.ok(request);
      }
    } else {
      script.accept(request, peer);
    }
  }

  @Override
  public void close() {
    Await.result(server.close());
  }
}
