package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The differential test of docs/proxy.md: the same byte streams ({@link DifferentialCases}, each
 * ended by a byte that resets QEMU's lexer and a last command) go to a second, direct monitor of
 * QEMU and through the proxy to the same QEMU, each on a connection of its own, and what comes
 * back must be the same bytes: from QEMU up to the last command's answer, from the proxy until
 * it closes the connection after the client shut down its sending side. The only
 * normalisation: lines of events are left out (none of the commands sent causes one).
 *
 * <p>For a QEMU whose JSON parser the proxy does not reproduce (11.x, see
 * {@link ProxyFixture#reproducesJsonParser}) only well-formed cases are sent.
 *
 * <p>The normal test run tries {@code proxy.differential.cases} cases (default 100) per QEMU;
 * {@code -Dproxy.differential.duration=30m} runs for that long instead ({@code resilience/run}
 * passes its fuzzing duration). The seed is random unless {@code -Dproxy.differential.seed} is
 * given, and every failure names it and the case's bytes.
 */
class ProxyDifferentialIT {

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();

  @QemuTest
  void theSameBytesGetTheSameBytesBackAsFromQemu(QemuBinary binary) {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    awaitFirmwareDone();
    Set<String> qemuCommands = result(fx.upstream.schema()).commands();
    Set<String> harmless = new HashSet<>(DifferentialCases.QUERIES);
    harmless.add("qmp_capabilities");
    long seed = Long.getLong("proxy.differential.seed", System.nanoTime());
    String duration = System.getProperty("proxy.differential.duration", "");
    long deadline = duration.isEmpty() ? Long.MAX_VALUE : System.nanoTime() + parse(duration).toNanos();
    int cases = duration.isEmpty() ? Integer.getInteger("proxy.differential.cases", 100) : Integer.MAX_VALUE;
    boolean junk = ProxyFixture.reproducesJsonParser(binary);
    DifferentialCases generator = new DifferentialCases(seed, !junk);
    byte[] end = junk ? END : END_WELL_FORMED;
    int tried = 0;
    int skipped = 0;
    while (tried < cases && System.nanoTime() < deadline) {
      byte[] bytes = generator.next();
      if (!harmless(bytes, qemuCommands, harmless)) {
        skipped++;
        continue;
      }
      bytes = concat(bytes, end);
      List<String> direct = withoutEvents(untilEnd(fx.direct(), bytes));
      List<String> proxied = withoutEvents(halfClosed(fx.proxy.socketPath(), bytes));
      assertThat(proxied).as("seed %d, case %d: %s\nQEMU answered:\n%s", seed, tried,
          new String(bytes, StandardCharsets.ISO_8859_1), String.join("", direct))
          .containsExactlyElementsOf(direct);
      tried++;
    }
    assertThat(fx.qemu.isAlive()).isTrue();
    recordFigures("QMP proxy vs QEMU " + binary.version() + ": same bytes back"
        + (junk ? "" : " (well-formed only)"), tried);
    assertThat(tried).as("cases tried (%d skipped as not harmless)", skipped).isPositive();
  }

  /**
   * {@code query-pci} is among the cases, and its answer changes while SeaBIOS (under TCG, a
   * second or more on a loaded machine) numbers the root port's bus and assigns resources; the two
   * answers compared are read one after the other. Waits until the bus is numbered and the answer
   * stayed the same for a second.
   */
  private void awaitFirmwareDone() {
    String[] last = {""};
    long[] since = {System.nanoTime()};
    Await.until("SeaBIOS is done with PCI (rp1's bus numbered, query-pci unchanged for 1 s)", () -> {
      String now = result(fx.upstream.execute("query-pci", null)).toString();
      if (!now.equals(last[0])) {
        last[0] = now;
        since[0] = System.nanoTime();
        return false;
      }
      return now.contains("\"secondary\":1") && System.nanoTime() - since[0] > 1_000_000_000L;
    });
  }

  /**
   * Ends every case: 0xFF ends whatever the lexer was in the middle of (QEMU answers "stray"),
   * and the command after it is then always read and answered last.
   */
  private static final byte[] END = "\u00ff\n{\"execute\":\"query-name\",\"id\":\"end-of-case\"}\n"
      .getBytes(StandardCharsets.ISO_8859_1);
  /** The same for well-formed cases, which leave the lexer between messages. */
  private static final byte[] END_WELL_FORMED = "\n{\"execute\":\"query-name\",\"id\":\"end-of-case\"}\n"
      .getBytes(StandardCharsets.ISO_8859_1);

  /**
   * QEMU's lines up to the answer to the case's last command. The client does not shut down its
   * sending side here: QEMU then closes without writing what its output buffer still holds, which
   * happened about once in 5,000 cases on a loaded machine.
   */
  private static List<String> untilEnd(Path socket, byte[] bytes) {
    try (LineSocket c = new LineSocket(socket)) {
      c.send(bytes);
      List<String> lines = new ArrayList<>();
      do {
        lines.add(c.line());
      } while (!lines.get(lines.size() - 1).contains("\"id\": \"end-of-case\""));
      return lines;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The proxy's lines when the client shuts down its sending side: every answer, then the end. */
  private static List<String> halfClosed(Path socket, byte[] bytes) {
    try (LineSocket c = new LineSocket(socket)) {
      return c.send(bytes).shutdownOutput().untilClosed(30);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = new byte[a.length + b.length];
    System.arraycopy(a, 0, c, 0, a.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static List<String> withoutEvents(List<String> lines) {
    List<String> kept = new ArrayList<>();
    for (String l : lines) {
      if (!l.startsWith("{\"timestamp\": ")) {
        kept.add(l);
      }
    }
    return kept;
  }

  /**
   * Whether every command the case names is a query (mutations may spell another command QEMU
   * has, which would change the VM between the two runs), and it does not enable {@code oob}
   * (QEMU then drops queued commands when the client half-closes; the proxy answers them).
   */
  private static boolean harmless(byte[] bytes, Set<String> qemuCommands, Set<String> harmless) {
    boolean[] ok = {true};
    QemuJsonStreamer streamer = new QemuJsonStreamer(QmpProxyOptions.DEFAULT_MAX_LINE_BYTES,
        new QemuJsonStreamer.Sink() {
          @Override
          public void value(JsonNode value) {
            for (String key : List.of("execute", "exec-oob")) {
              JsonNode name = value.get(key);
              if (name != null && name.isTextual() && qemuCommands.contains(name.textValue())
                  && !harmless.contains(name.textValue())) {
                ok[0] = false;
              }
            }
            for (JsonNode capability : value.path("arguments").path("enable")) {
              if (capability.asText().equals("oob")) {
                ok[0] = false;
              }
            }
          }

          @Override
          public void error(String desc) {
            // Junk is welcome.
          }
        });
    for (byte b : bytes) {
      streamer.feed(b);
    }
    return ok[0];
  }

  private static Duration parse(String text) {
    String t = text.trim();
    long n = Long.parseLong(t.replaceAll("\\D", ""));
    return t.endsWith("ms") ? Duration.ofMillis(n) : t.endsWith("m") ? Duration.ofMinutes(n)
        : t.endsWith("h") ? Duration.ofHours(n) : Duration.ofSeconds(n);
  }

  /** A FUZZ row for {@code resilience/run}'s table, when it asked for one. */
  private static void recordFigures(String name, long cases) {
    String file = System.getProperty("resilience.figures");
    if (file == null || file.isEmpty()) {
      return;
    }
    String row = String.join("\t", "FUZZ", name, Long.toString(cases), Long.toString(cases), "0", "0", "0") + "\n";
    try {
      Files.write(Path.of(file), row.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append the figures row to " + file, e);
    }
  }
}
