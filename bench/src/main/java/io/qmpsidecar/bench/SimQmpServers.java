package io.qmpsidecar.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Simulated QMP endpoints, not QEMU: {@code N} Unix sockets {@code simNNNN.qmp} in a directory,
 * each speaking the QMP wire protocol (a QEMU 10.0 greeting with {@code oob}, capabilities
 * negotiation, a {@code query-status} answer of "running", an empty {@code return} for every
 * other command, ids echoed) and, on request, emitting {@code RTC_CHANGE} events (an event is
 * skipped, not queued, while a peer's write queue is full: what is sent is what the peer read or
 * will read). Run as a child
 * process by {@link ScaleBench}, so that its memory and threads are not the sidecar's; it is
 * driven by lines on stdin ({@code emit RATE SECONDS}, {@code quit}) and reports on stdout.
 */
public final class SimQmpServers {
  private static final String GREETING = "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":0,\"minor\":0,\"major\":10},"
      + "\"package\":\"simulated\"},\"capabilities\":[\"oob\"]}}\r\n";
  private static final String STATUS = "\"return\":{\"status\":\"running\",\"singlestep\":false,\"running\":true}";
  private static final int TICK_MS = 1;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
  private final List<NetSocket> peers = new CopyOnWriteArrayList<>();

  private SimQmpServers() {}

  /** Arguments: the socket directory and the number of endpoints. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int n = Integer.parseInt(args[1]);
    SimQmpServers sim = new SimQmpServers();
    List<Future<?>> listening = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String socket = dir.resolve(String.format("sim%04d.qmp", i)).toString();
      listening.add(sim.vertx.createNetServer().connectHandler(sim::accept).listen(SocketAddress.domainSocketAddress(socket)));
    }
    Future.all(listening).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    System.out.println("listening " + n);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null && !line.equals("quit"); line = in.readLine()) {
      String[] cmd = line.split(" ");
      if (cmd[0].equals("emit")) {
        System.out.println("sent " + sim.emit(Integer.parseInt(cmd[1]), Integer.parseInt(cmd[2])));
      }
    }
    sim.vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private void accept(NetSocket socket) {
    peers.add(socket);
    socket.closeHandler(v -> peers.remove(socket));
    socket.handler(RecordParser.newDelimited("\n", line -> {
      try {
        JsonNode request = JSON.readTree(line.getBytes());
        String execute = request.path("execute").asText();
        String body = execute.equals("query-status") ? STATUS : "\"return\":{}";
        JsonNode id = request.get("id");
        socket.write("{" + body + (id == null ? "" : ",\"id\":" + id) + "}\r\n");
      } catch (IOException e) {
        socket.write("{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error\"}}\r\n");
      }
    }));
    socket.write(GREETING);
  }

  /**
   * Offers {@code rate} events/s in total for {@code seconds}, in {@value #TICK_MS} ms ticks, each
   * tick's share going to the next peers in turn (independent VMs do not emit in step); returns
   * how many were sent.
   */
  private long emit(int rate, int seconds) throws Exception {
    int perTick = Math.max(1, rate * TICK_MS / 1000);
    long[] sent = {0};
    int[] cursor = {0};
    long ticks = seconds * 1000L / TICK_MS;
    long[] tick = {0};
    Promise<Long> done = Promise.promise();
    vertx.runOnContext(v -> vertx.setPeriodic(TICK_MS, timer -> {
      List<NetSocket> all = peers;
      long micros = System.currentTimeMillis() * 1000;
      String event = "{\"timestamp\":{\"seconds\":" + micros / 1_000_000 + ",\"microseconds\":" + micros % 1_000_000
          + "},\"event\":\"RTC_CHANGE\",\"data\":{\"offset\":0,\"qom-path\":\"/machine/unattached/device[0]\"}}\r\n";
      for (int i = 0; i < perTick && !all.isEmpty(); i++) {
        NetSocket peer = all.get(cursor[0]++ % all.size());
        if (!peer.writeQueueFull()) {
          peer.write(event);
          sent[0]++;
        }
      }
      if (++tick[0] == ticks) {
        vertx.cancelTimer(timer);
        done.complete(sent[0]);
      }
    }));
    return done.future().toCompletionStage().toCompletableFuture().get(seconds + 30L, TimeUnit.SECONDS);
  }
}
