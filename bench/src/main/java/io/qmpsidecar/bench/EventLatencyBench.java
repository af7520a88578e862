package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.RelayMethods;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Event delivery through an in-process sidecar, on one real QEMU in qtest mode: from QEMU's
 * timestamp of an event to its arrival at a subscriber of the sidecar's event stream (SSE on the
 * API socket), at a client of the VM's QMP proxy socket, and at the DPU end of the relay (mutual
 * TLS, durable outbox), against a raw subscriber on a second QMP monitor of the same QEMU. A
 * second raw subscriber, the same code on a fourth monitor, is the control: what "added" reads
 * for a path that adds nothing, the floor of the measure on this machine. A third monitor issues
 * {@code stop} and {@code cont} alternately, {@value #RATE} per second, so every
 * path sees the same STOP and RESUME events at once, paced rather than flooded; before that,
 * {@value #WARMUP} events at {@value #WARMUP_RATE}/s warm the JIT up and are not counted. Each
 * QEMU is measured twice, with a fresh sidecar: on Vert.x's default event loops and on the one
 * event loop of {@code bin/jvm/small}. {@code -Dbench.relay=nosync} runs the relay without the
 * outbox's fsync, {@code -Dbench.relay=off} without the relay.
 *
 * <p>QEMU stamps an event with {@code g_get_real_time()} (the host's {@code CLOCK_REALTIME}, in
 * microseconds); every subscriber stamps its arrival with {@link Instant#now()} from the same
 * clock when the read that completed the event returns (for the DPU end: when its notification
 * handler runs). The relay's {@code vm.lifecycle} notifications carry no QEMU timestamp: the
 * relay forwards the sidecar's event stream in order, so its i-th notification is the SSE
 * subscriber's i-th event (names checked), which carries it. "Added" is a path's arrival minus the
 * raw subscriber's arrival of the same event, per event; its percentiles are reported, not
 * differences of percentiles. An event that has not arrived {@link #DRAIN} after the last one was
 * caused counts as the latest (a percentile falling on it reads "lost"); the SSE subscriber also
 * counts the sidecar's {@code qmp.events-dropped} markers, events lost before the event stream.
 */
public final class EventLatencyBench {
  private static final int RATE = 200;
  /** Enough events for the JIT to compile every path's per-event code before measuring. */
  private static final int WARMUP = 10_000;
  private static final int WARMUP_RATE = 1_000;
  private static final int MEASURED = 3_000;
  private static final int TOTAL = WARMUP + MEASURED;
  private static final long TARGET_ADDED_P99_MICROS = 200;
  /** The DPU path's target: its notifications cross a TLS link to another event loop. */
  private static final long TARGET_DPU_ADDED_P99_MICROS = 300;
  /** The sidecar's event-loop threads in each run: Vert.x's default, and bin/jvm/small's one. */
  private static final List<String> EVENT_LOOPS = List.of("default", "1");
  /**
   * The relay: {@code mtls} (the default: mutual TLS, an fsync per outbox commit), {@code nosync}
   * (the same without the fsync, {@code relay.syncEveryCommit=false}) or {@code off} (no relay, the
   * DPU end idle: what the relay costs the other paths on the same cores).
   */
  private static final String RELAY = System.getProperty("bench.relay", "mtls");
  private static final Duration START = Duration.ofSeconds(30);
  private static final Duration DRAIN = Duration.ofSeconds(10);
  /** After this every socket of a run is closed, ending any read still blocked. */
  private static final Duration RUN_LIMIT = Duration.ofSeconds(60 + WARMUP / WARMUP_RATE + MEASURED / RATE);
  private static final String HOST_ID = "bench-host";
  private static final String VM = "vm1";
  private static final byte[] SSE_REQUEST = ascii("GET /v1/events?vm=" + VM
      + "&type=qmp.STOP,qmp.RESUME,qmp.events-dropped HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
  private static final byte[] CAPABILITIES = ascii("{\"execute\":\"qmp_capabilities\"}\n");
  private static final byte[] STOP = ascii("{\"execute\":\"stop\"}\n");
  private static final byte[] CONT = ascii("{\"execute\":\"cont\"}\n");

  private EventLatencyBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("event-bench");
    try {
      BenchCerts certs = BenchCerts.make(dir);
      for (QemuBinary binary : QemuBinaries.all()) {
        for (String loops : EVENT_LOOPS) {
          if (loops.equals("default")) {
            System.clearProperty("qmpsidecar.eventLoops");
          } else {
            System.setProperty("qmpsidecar.eventLoops", loops);
          }
          run(binary, certs, Files.createDirectories(dir.resolve(binary.version() + "-" + loops)), loops);
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void run(QemuBinary binary, BenchCerts certs, Path dir, String loops) throws Exception {
    Path raw = dir.resolve("raw.qmp");
    Path driver = dir.resolve("driver.qmp");
    Path control = dir.resolve("control.qmp");
    Arrivals atDpu = new Arrivals();
    Vertx dpuVertx = Vertx.vertx();
    try {
      DpuEndpoint dpu = await(DpuEndpoint.listen(dpuVertx, DpuEndpointOptions.defaults().withTls(certs.dpu)));
      dpu.notificationHandler(n -> {
        if (n.method().equals(RelayMethods.VM_LIFECYCLE)) {
          atDpu.add(0, String.valueOf(n.params().get("event")), micros(Instant.now()));
        }
      });
      List<String> relay = switch (RELAY) {
        case "off" -> List.of();
        case "mtls", "nosync" -> List.of("relay.url=wss://127.0.0.1:" + dpu.actualPort() + "/relay",
            "relay.hostId=" + HOST_ID, "relay.cert=" + certs.host.certificate(), "relay.key=" + certs.host.privateKey(),
            "relay.ca=" + certs.host.trustedCa(), "relay.syncEveryCommit=" + RELAY.equals("mtls"));
        default -> throw new IllegalArgumentException("bench.relay is mtls, nosync or off, not '" + RELAY + "'");
      };
      try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "bench", 1,
          "-chardev", "socket,id=raw,path=" + raw + ",server=on,wait=off", "-mon", "chardev=raw,mode=control",
          "-chardev", "socket,id=driver,path=" + driver + ",server=on,wait=off", "-mon", "chardev=driver,mode=control",
          "-chardev", "socket,id=control,path=" + control + ",server=on,wait=off", "-mon", "chardev=control,mode=control");
          BenchSidecar sidecar = BenchSidecar.start(dir.resolve("sidecar"), relay,
              List.of(VM + "=unix:" + qemu.qmpAddress().unixPath()), START)) {
        sidecar.awaitReady(START);
        Path proxy = sidecar.awaitProxy(VM, START);
        if (!relay.isEmpty()) {
          awaitLink(dpu);
        }
        measure(binary, loops, new Monitors(raw, control, driver), proxy, sidecar.apiSocket, atDpu);
      }
    } finally {
      dpuVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void awaitLink(DpuEndpoint dpu) throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    while (!dpu.connectedHosts().contains(HOST_ID)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the sidecar's relay did not connect to the DPU end within " + START);
      }
      Thread.sleep(10);
    }
  }

  private static void measure(QemuBinary binary, String loops, Monitors monitors, Path proxy, Path api,
      Arrivals atDpu)
      throws Exception {
    Arrivals atRaw = new Arrivals();
    Arrivals atControl = new Arrivals();
    Arrivals atSse = new Arrivals();
    Arrivals atPublish = new Arrivals();
    Arrivals atProxy = new Arrivals();
    List<LineSocket> channels = new ArrayList<>();
    ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(daemon("event-bench-watchdog"));
    ExecutorService readers = Executors.newFixedThreadPool(4, daemon("event-bench-subscriber"));
    ScheduledFuture<?> limit = watchdog.schedule(() -> closeAll(channels), RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    List<Future<?>> reading = new ArrayList<>();
    try {
      LineSocket rawIn = qmp(monitors.raw, channels);
      LineSocket controlIn = qmp(monitors.control, channels);
      LineSocket proxyIn = qmp(proxy, channels);
      LineSocket sseIn = sse(api, channels);
      LineSocket commands = qmp(monitors.driver, channels);
      reading.add(readers.submit(() -> {
        readQmpEvents(rawIn, atRaw);
        return null;
      }));
      reading.add(readers.submit(() -> {
        readQmpEvents(controlIn, atControl);
        return null;
      }));
      reading.add(readers.submit(() -> {
        readQmpEvents(proxyIn, atProxy);
        return null;
      }));
      reading.add(readers.submit(() -> {
        readSseEvents(sseIn, atSse, atPublish);
        return null;
      }));
      drive(commands, 0, WARMUP, WARMUP_RATE);
      drive(commands, WARMUP, TOTAL, RATE);
      long deadline = System.nanoTime() + DRAIN.toNanos();
      while (!(atRaw.count() == TOTAL && atControl.hasLast(atRaw) && atSse.hasLast(atRaw) && atProxy.hasLast(atRaw)
          && (RELAY.equals("off") || atDpu.count() >= atSse.count()))
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    } catch (ClosedChannelException e) {
      throw new IllegalStateException("the run did not finish within " + RUN_LIMIT + ": its sockets were closed", e);
    } finally {
      limit.cancel(false);
      closeAll(channels);
      watchdog.shutdownNow();
      readers.shutdown();
      if (!readers.awaitTermination(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("a subscriber did not stop within 10 s of its socket closing");
      }
    }
    for (Future<?> f : reading) {
      f.get(0, TimeUnit.SECONDS);
    }
    report(binary, loops, atRaw, atControl, atSse, atPublish, atProxy, atDpu);
  }

  /**
   * Issues events {@code from} to {@code to} ({@code stop} for even ones, {@code cont} for odd
   * ones), {@code rate} per second, each after the previous one's return.
   */
  private static void drive(LineSocket commands, int from, int to, int rate) throws IOException {
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    long next = System.nanoTime();
    for (int i = from; i < to; i++) {
      commands.write(i % 2 == 0 ? STOP : CONT);
      awaitReturn(commands);
      next = Math.max(next + period, System.nanoTime());
      long wait;
      while ((wait = next - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
    }
  }

  private static void report(QemuBinary binary, String loops, Arrivals raw, Arrivals control, Arrivals sse,
      Arrivals publish, Arrivals proxy, Arrivals dpu) {
    if (raw.count() != TOTAL) {
      throw new IllegalStateException("the raw subscriber saw " + raw.count() + " events, " + TOTAL + " were caused");
    }
    Map<Long, Integer> byTimestamp = new HashMap<>();
    for (int i = 0; i < TOTAL; i++) {
      if (byTimestamp.put(raw.qemuMicros[i], i) != null) {
        throw new IllegalStateException("two events with QEMU timestamp " + raw.qemuMicros[i] + " us");
      }
    }
    System.out.printf("%nQEMU %s, qtest mode, sidecar event loops: %s; %d STOP/RESUME events at %d/s after %d"
        + " warm-up ones at %d/s, every path subscribed at once, free placement, relay: %s%n", binary.version(),
        loops.equals("default") ? "default (" + VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE + ")" : loops, MEASURED,
        RATE, WARMUP, WARMUP_RATE, RELAY);
    System.out.printf("latency: arrival - QEMU's event timestamp (both CLOCK_REALTIME); added: the path's arrival"
        + " - the raw subscriber's, per event%n");
    System.out.printf("%-34s %11s %10s %10s %10s %10s %13s%n", "path", "events", "p50 (us)", "p99 (us)",
        "added p50", "added p99", "target");
    long[] rawLatency = new long[MEASURED];
    for (int i = WARMUP; i < TOTAL; i++) {
      rawLatency[i - WARMUP] = raw.atMicros[i] - raw.qemuMicros[i];
    }
    row("raw QMP, 2nd monitor (baseline)", MEASURED, rawLatency, null, 0);
    timestamped("raw QMP, 4th monitor (control)", control, raw, byTimestamp, 0);
    timestamped("SSE GET /v1/events", sse, raw, byTimestamp, TARGET_ADDED_P99_MICROS);
    timestamped("  of which to the sidecar's publish", publish, raw, byTimestamp, 0);
    timestamped("QMP proxy socket", proxy, raw, byTimestamp, TARGET_ADDED_P99_MICROS);
    if (!RELAY.equals("off")) {
      throughSse(RELAY.equals("mtls") ? "DPU end (relay, mTLS)" : "DPU end (relay, mTLS, no fsync)", dpu, sse, raw,
          byTimestamp);
    }
    if (sse.gaps() > 0) {
      System.out.printf("the sidecar's event stream reported %d gaps (qmp.events-dropped): QEMU events it lost for"
          + " SSE and the relay, during warm-up or in the events column%n", sse.gaps());
    }
  }

  /** A path whose events carry QEMU's timestamp: matched to the raw subscriber's by it. */
  private static void timestamped(String path, Arrivals at, Arrivals raw, Map<Long, Integer> byTimestamp,
      long target) {
    long[] latency = notArrived();
    long[] added = notArrived();
    int n = 0;
    for (int i = 0; i < at.count(); i++) {
      Integer r = byTimestamp.get(at.qemuMicros[i]);
      if (r == null) {
        throw new IllegalStateException(path + ": an event with QEMU timestamp " + at.qemuMicros[i]
            + " us that the raw subscriber did not see");
      }
      if (r >= WARMUP) {
        latency[r - WARMUP] = at.atMicros[i] - at.qemuMicros[i];
        added[r - WARMUP] = at.atMicros[i] - raw.atMicros[r];
        n++;
      }
    }
    row(path, n, latency, added, target);
  }

  /** A path fed by the sidecar's event stream without QEMU's timestamp: its i-th event is the SSE subscriber's i-th. */
  private static void throughSse(String path, Arrivals at, Arrivals sse, Arrivals raw, Map<Long, Integer> byTimestamp) {
    long[] latency = notArrived();
    long[] added = notArrived();
    int n = 0;
    int end = Math.min(at.count(), sse.count());
    for (int i = 0; i < end; i++) {
      if (!at.events[i].equals(sse.events[i])) {
        throw new IllegalStateException(path + ": event " + i + " is " + at.events[i] + ", the SSE subscriber's is "
            + sse.events[i]);
      }
      int r = byTimestamp.get(sse.qemuMicros[i]);
      if (r >= WARMUP) {
        latency[r - WARMUP] = at.atMicros[i] - sse.qemuMicros[i];
        added[r - WARMUP] = at.atMicros[i] - raw.atMicros[r];
        n++;
      }
    }
    row(path, n, latency, added, TARGET_DPU_ADDED_P99_MICROS);
  }

  /** One sample per measured event, each {@link Long#MAX_VALUE} until it arrives: a lost event counts as the latest. */
  private static long[] notArrived() {
    long[] samples = new long[MEASURED];
    Arrays.fill(samples, Long.MAX_VALUE);
    return samples;
  }

  /** A row; {@code target} is its added p99's target in microseconds, 0 for none. */
  private static void row(String path, int events, long[] latency, long[] added, long target) {
    String count = events + "/" + MEASURED;
    if (added == null) {
      System.out.printf("%-34s %11s %10s %10s%n", path, count, percentile(latency, 50), percentile(latency, 99));
      return;
    }
    long addedP99 = BenchStats.percentile(added, 99);
    System.out.printf("%-34s %11s %10s %10s %10s %10s %13s%n", path, count, percentile(latency, 50),
        percentile(latency, 99), percentile(added, 50), percentile(added, 99),
        target == 0 ? "" : (addedP99 <= target ? "met" : "missed") + " <=" + target);
  }

  /** A percentile in microseconds, or "lost" where it falls on events that did not arrive within {@link #DRAIN}. */
  private static String percentile(long[] micros, double p) {
    long value = BenchStats.percentile(micros, p);
    return value == Long.MAX_VALUE ? "lost" : Long.toString(value);
  }

  private static void readQmpEvents(LineSocket in, Arrivals into) throws IOException {
    try {
      while (true) {
        String line = in.readLine().toString();
        int event = line.indexOf("\"event\"");
        if (event >= 0) {
          into.add(numberAfter(line, "\"seconds\"") * 1_000_000 + numberAfter(line, "\"microseconds\""),
              stringAfter(line, event), micros(in.readAt()));
        }
      }
    } catch (ClosedChannelException endOfRun) {
      // The run closed the socket.
    }
  }

  /**
   * Records each event's arrival, and as {@code published} the time the sidecar gave it (its
   * {@code time}); counts the sidecar's gap markers.
   */
  private static void readSseEvents(LineSocket in, Arrivals into, Arrivals published) throws IOException {
    try {
      while (true) {
        String line = in.readLine().toString();
        if (line.startsWith("data: ") && line.contains("\"type\":\"qmp.events-dropped\"")) {
          into.gap();
        } else if (line.startsWith("data: ")) {
          if (!line.contains("\"qemuTimestamp\"")) {
            throw new IOException("the sidecar ended the event stream: " + line);
          }
          Instant qemu = Instant.parse(stringAfter(line, line.indexOf("\"qemuTimestamp\"")));
          String type = stringAfter(line, line.indexOf("\"type\""));
          String event = type.substring("qmp.".length());
          into.add(micros(qemu), event, micros(in.readAt()));
          published.add(micros(qemu), event, micros(Instant.parse(stringAfter(line, line.indexOf("\"time\"")))));
        }
      }
    } catch (ClosedChannelException endOfRun) {
      // The run closed the socket.
    }
  }

  /** The QEMU's monitors the benchmark itself reads or drives, by their Unix sockets. */
  private record Monitors(Path raw, Path control, Path driver) {}

  /** A QMP client after capability negotiation. */
  private static LineSocket qmp(Path socket, List<LineSocket> channels) throws IOException {
    LineSocket c = open(socket, channels);
    c.readLine();
    c.write(CAPABILITIES);
    awaitReturn(c);
    return c;
  }

  /** Reads lines up to a command's return, past any events. */
  private static void awaitReturn(LineSocket c) throws IOException {
    while (true) {
      String line = c.readLine().toString();
      if (line.contains("\"return\"")) {
        return;
      }
      if (line.contains("\"error\"")) {
        throw new IOException("QMP error: " + line);
      }
    }
  }

  /** An SSE subscription to the VM's STOP and RESUME events, its response head read. */
  private static LineSocket sse(Path api, List<LineSocket> channels) throws IOException {
    LineSocket c = open(api, channels);
    c.write(SSE_REQUEST);
    String status = c.readLine().toString();
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new IOException("GET /v1/events answered " + status);
    }
    String header = c.readLine().toString();
    while (!header.isEmpty()) {
      header = c.readLine().toString();
    }
    return c;
  }

  private static LineSocket open(Path socket, List<LineSocket> channels) throws IOException {
    LineSocket c = new LineSocket(socket, true);
    synchronized (channels) {
      channels.add(c);
    }
    return c;
  }

  private static void closeAll(List<LineSocket> channels) {
    synchronized (channels) {
      for (LineSocket c : channels) {
        try {
          c.close();
        } catch (IOException ignored) {
          // Closing only ends the run's reads.
        }
      }
    }
  }

  private static long numberAfter(String line, String key) {
    int i = line.indexOf(key);
    if (i < 0) {
      throw new IllegalArgumentException("no " + key + " in " + line);
    }
    i += key.length();
    while (!Character.isDigit(line.charAt(i))) {
      i++;
    }
    long value = 0;
    for (; i < line.length() && Character.isDigit(line.charAt(i)); i++) {
      value = value * 10 + line.charAt(i) - '0';
    }
    return value;
  }

  /** The string value of the member whose name starts at {@code at}. */
  private static String stringAfter(String line, int at) {
    if (at < 0) {
      throw new IllegalArgumentException("a member is missing in " + line);
    }
    int open = line.indexOf('"', line.indexOf(':', at) + 1);
    return line.substring(open + 1, line.indexOf('"', open + 1));
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  private static <T> T await(io.vertx.core.Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(START.toSeconds(), TimeUnit.SECONDS);
  }

  /**
   * One path's events in arrival order, at most {@value #TOTAL} and any beyond counted. Written
   * by one thread; {@link #count()} publishes what was written before it.
   */
  private static final class Arrivals {
    final long[] qemuMicros = new long[TOTAL];
    final String[] events = new String[TOTAL];
    final long[] atMicros = new long[TOTAL];
    private volatile int count;
    private volatile int beyond;
    private volatile int gaps;

    void add(long qemu, String event, long at) {
      int n = count;
      if (n == TOTAL) {
        beyond++;
        return;
      }
      qemuMicros[n] = qemu;
      events[n] = event;
      atMicros[n] = at;
      count = n + 1;
    }

    /** Whether the last event {@code raw} saw has arrived here too: every path delivers in order. */
    boolean hasLast(Arrivals raw) {
      int n = count();
      return n > 0 && raw.count() == TOTAL && qemuMicros[n - 1] == raw.qemuMicros[TOTAL - 1];
    }

    /** The path said events were lost here. */
    void gap() {
      gaps++;
    }

    int gaps() {
      return gaps;
    }

    int count() {
      if (beyond > 0) {
        throw new IllegalStateException(beyond + " events more than the " + TOTAL + " caused");
      }
      return count;
    }
  }
}
