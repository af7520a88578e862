package io.qmpsidecar.sidecar.cli;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.SocketAddress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code events} against an in-process server that streams scripted NDJSON lines. */
class EventsCommandTest {
  private static final String E1 = "{\"id\":1,\"time\":\"2025-01-01T00:00:00Z\",\"vm\":\"vm1\",\"type\":\"qmp.STOP\",\"data\":{}}";
  private static final String E2 = "{\"id\":2,\"time\":\"2025-01-01T00:00:01Z\",\"vm\":\"vm1\",\"type\":\"qmp.RESUME\",\"data\":{}}";

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private final List<String> uris = new CopyOnWriteArrayList<>();
  private Vertx vertx;
  private Consumer<HttpServerResponse> script;

  @BeforeEach
  void startServer() {
    vertx = Vertx.vertx();
    result(vertx.createHttpServer().requestHandler(req -> {
      uris.add(req.uri());
      HttpServerResponse resp = req.response().setChunked(true).putHeader("content-type", "application/x-ndjson");
      script.accept(resp);
    }).listen(SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString())));
  }

  @AfterEach
  void stopServer() {
    result(vertx.close());
  }

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--api=unix:" + dir.resolve("api.sock"));
    return cli.execute(all.toArray(new String[0]));
  }

  @Test
  void withoutFollowPrintsTheLogAndExitsWhenTheStreamIsQuiet() {
    script = resp -> resp.write("{\"type\":\"gap\",\"detail\":\"events after 0 are no longer in the log\"}\n"
        + E1 + "\n{\"type\":\"heartbeat\"}\n" + E2 + "\n");
    long start = System.nanoTime();
    assertThat(run("events", "--vm", "vm1", "--type", "qmp.STOP,qmp.RESUME", "--data", "reason=host-qmp-stop")).isEqualTo(0);
    assertThat((System.nanoTime() - start) / 1_000_000).as("ms until it exits").isLessThan(5_000);
    assertThat(out.toString().lines()).containsExactly(E1, E2);
    assertThat(err.toString().lines()).containsExactly("gap: events after 0 are no longer in the log");
    assertThat(uris).containsExactly(
        "/v1/events?format=ndjson&vm=vm1&type=qmp.STOP%2Cqmp.RESUME&data.reason=host-qmp-stop&since=0");
  }

  @Test
  void followStopsAtTheLimitAndAsksForNewEventsOnly() {
    script = resp -> {
      resp.write(E1 + "\n");
      vertx.setTimer(300, t -> resp.write(E2 + "\n{\"id\":3}\n"));
    };
    assertThat(run("events", "--follow", "--limit", "2", "--max-time", "10")).isEqualTo(0);
    assertThat(out.toString().lines()).containsExactly(E1, E2);
    assertThat(uris).containsExactly("/v1/events?format=ndjson");
  }

  @Test
  void followingUntilMaxTimeWithoutTheLimitExitsFour() {
    script = resp -> resp.write(E1 + "\n");
    assertThat(run("events", "-f", "--since", "0", "--limit", "2", "--max-time", "1")).isEqualTo(4);
    assertThat(out.toString().lines()).containsExactly(E1);
    assertThat(err.toString()).startsWith("only 1 of --limit 2 events arrived within --max-time 1 s");
    assertThat(uris).containsExactly("/v1/events?format=ndjson&since=0");
  }

  @Test
  void aCutOffStreamExitsFourNamingWhy() {
    script = resp -> resp.end(E1 + "\n{\"type\":\"error\",\"detail\":\"this consumer fell 1024 events behind\"}\n");
    assertThat(run("events", "--follow")).isEqualTo(4);
    assertThat(out.toString().lines()).containsExactly(E1);
    assertThat(err.toString().strip()).isEqualTo("the sidecar cut off the event stream: this consumer fell 1024 events"
        + " behind; run qmp-sidecar events --follow --since 1 to resume after the last event printed (if the sidecar"
        + " restarted meanwhile, a gap line says which events were lost and what to re-read)");
  }

  @Test
  void theEndOfTheStreamWhileFollowingSaysHowToResumeAfterTheLastIdPrinted() {
    script = resp -> resp.end(E1 + "\n" + E2 + "\n");
    assertThat(run("events", "--follow")).isEqualTo(4);
    assertThat(err.toString().strip()).isEqualTo("the sidecar ended the event stream; run qmp-sidecar events --follow"
        + " --since 2 to resume after the last event printed (if the sidecar restarted meanwhile, a gap line says which"
        + " events were lost and what to re-read)");
  }

  @Test
  void theEndOfAStreamThatPrintedNothingSaysToRunAgain() {
    script = resp -> resp.end();
    assertThat(run("events", "--follow")).isEqualTo(4);
    assertThat(err.toString().strip()).isEqualTo("the sidecar ended the event stream; run qmp-sidecar events again"
        + " to go on");
  }

  @Test
  void aGapAfterARestartIsPrintedOnStderrAndTheEventsOfTheNewRunFollow() {
    String gap = "{\"type\":\"gap\",\"reason\":\"restarted\",\"lastEventId\":2,\"firstId\":1000001,"
        + "\"detail\":\"the sidecar restarted at 2025-01-01T00:01:00Z: event 2 is from an earlier run\"}";
    String e3 = "{\"id\":1000001,\"time\":\"2025-01-01T00:01:01Z\",\"vm\":\"vm1\",\"type\":\"qmp.STOP\",\"data\":{}}";
    script = resp -> resp.write(gap + "\n" + e3 + "\n");
    assertThat(run("events", "--follow", "--since", "2", "--limit", "1", "--max-time", "10")).isEqualTo(0);
    assertThat(out.toString().lines()).containsExactly(e3);
    assertThat(err.toString().lines()).containsExactly("gap: the sidecar restarted at 2025-01-01T00:01:00Z: event 2 is"
        + " from an earlier run");
    assertThat(uris).containsExactly("/v1/events?format=ndjson&since=2");
  }

  @Test
  void maxTimeWithoutFollowIsAUsageError() {
    script = resp -> resp.end();
    assertThat(run("events", "--max-time", "5")).isEqualTo(2);
    assertThat(err.toString()).startsWith("--max-time needs --follow");
    assertThat(uris).isEmpty();
  }
}
