package io.qmpsidecar.bench;

import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An in-process sidecar for a benchmark, its sockets and state under one directory. */
final class BenchSidecar implements AutoCloseable {
  final Sidecar sidecar;
  final Path apiSocket;
  final Path proxyDir;

  private BenchSidecar(Sidecar sidecar, Path apiSocket, Path proxyDir) {
    this.sidecar = sidecar;
    this.apiSocket = apiSocket;
    this.proxyDir = proxyDir;
  }

  /**
   * Starts a sidecar with {@code vms} ({@code NAME=unix:PATH}) and extra {@code key=value}
   * settings, waiting at most {@code timeout}. Its policy is {@link #policyText()}.
   */
  static BenchSidecar start(Path dir, List<String> settings, List<String> vms, Duration timeout) throws Exception {
    return start(dir, settings, vms, timeout, "");
  }

  /** The same with {@code rules} (YAML list items, indented as the preset's) after the preset's rules. */
  static BenchSidecar start(Path dir, List<String> settings, List<String> vms, Duration timeout, String rules)
      throws Exception {
    Files.createDirectories(dir);
    Path api = dir.resolve("api.sock");
    Path proxy = dir.resolve("proxy");
    String text = policyText();
    int end = text.indexOf("\ndefault:");
    if (end < 0) {
      throw new IllegalStateException("the default preset has no 'default:' section any more");
    }
    Path policy = Files.writeString(dir.resolve("policy.yaml"),
        text.substring(0, end + 1) + rules + text.substring(end + 1));
    List<String> sets = new ArrayList<>(List.of("api.socket=" + api, "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + proxy, "policy.file=" + policy));
    sets.addAll(settings);
    Sidecar s = Sidecar.start(ConfigLoader.load(null, Map.of(), sets, vms), timeout);
    return new BenchSidecar(s, api, proxy);
  }

  /**
   * The default preset's rules with one rate limit for every caller, high enough never to bind:
   * the preset's 100 requests/s for local automation would otherwise be the figure measured. The
   * limit is still evaluated on every command, as in production.
   */
  static String policyText() {
    String preset = Policies.presetText("default");
    int limits = preset.indexOf("\nrate-limits:");
    if (limits < 0) {
      throw new IllegalStateException("the default preset has no rate-limits section any more");
    }
    return preset.substring(0, limits) + "\nrate-limits:\n  - id: bench\n    callers: [\"*\"]\n"
        + "    burst: 1000000\n    per-second: 1000000\n";
  }

  /** Polls {@code GET /readyz} until it answers 200 (every VM connected). */
  void awaitReady(Duration timeout) throws Exception {
    awaitReady(apiSocket, timeout);
  }

  static void awaitReady(Path apiSocket, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    byte[] readyz = BenchHttpClient.get("/readyz");
    while (true) {
      if (Files.exists(apiSocket)) {
        try (BenchHttpClient http = new BenchHttpClient(apiSocket)) {
          if (http.call(readyz) == 200) {
            return;
          }
        } catch (IOException notYet) {
          // The socket file exists before the server accepts on it.
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the sidecar was not ready within " + timeout);
      }
      Thread.sleep(2);
    }
  }

  /** Waits until VM {@code name}'s proxy socket exists. */
  Path awaitProxy(String name, Duration timeout) throws InterruptedException {
    Path socket = proxyDir.resolve(name + ".qmp");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.exists(socket)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no proxy socket " + socket + " within " + timeout);
      }
      Thread.sleep(10);
    }
    return socket;
  }

  @Override
  public void close() {
    sidecar.stop();
  }
}
