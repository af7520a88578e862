package io.qmpsidecar.resilience.bypass;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.resilience.Figures;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bypass corpus (src/test/resources/bypass/host-reaching.txt) against the default and DPU
 * presets: every line, in every spelling derived from it, as every caller that is not the local
 * administrator, must be denied.
 */
class BypassCorpusTest {
  private static final List<String> CALLERS = List.of("dpu", "proxy:x", "api:x", "rule:r1");
  private static final Pattern EXECUTE = Pattern.compile("^\\{\"execute\":\"([^\"]+)\"(.*)$");

  @ParameterizedTest(name = "preset {0}")
  @ValueSource(strings = {"default", "dpu"})
  void everySpellingOfEveryHostReachingRequestIsDenied(String preset) {
    PolicyEngine engine = new PolicyEngine(Policies.preset(preset), AuditSink.NONE, Clock.systemUTC());
    List<String> corpus = corpus();
    long attempts = 0;
    long denied = 0;
    List<String> allowed = new ArrayList<>();
    for (String line : corpus) {
      for (String spelling : spellings(line)) {
        for (String caller : CALLERS) {
          attempts++;
          Decision d = engine.decideText(new Caller(caller), spelling, Optional.empty());
          if (d.effect() == Effect.DENY) {
            denied++;
          } else {
            allowed.add(caller + " " + spelling + " -> " + d);
          }
        }
      }
    }
    Figures.record(new Figures.Row(Figures.Section.BYPASS, "host-reaching requests, preset " + preset
        + " (" + corpus.size() + " lines x spellings x " + CALLERS.size() + " callers)", attempts, denied, 0, 0, 0));
    assertThat(allowed).as("requests that got through the %s preset", preset).isEmpty();
    assertThat(attempts).as("the corpus and its spellings").isGreaterThan(corpus.size() * 4L * CALLERS.size());
  }

  @Test
  void theSameEngineStillAllowsPlainQueriesInTheSameSpellings() {
    PolicyEngine engine = new PolicyEngine(Policies.preset("default"), AuditSink.NONE, Clock.systemUTC());
    for (String spelling : spellings("{\"execute\":\"query-status\"}")) {
      if (spelling.contains("QUERY") || spelling.contains("query_status") || spelling.contains("exec-oob")
          || spelling.contains("\"execute\":\"query-status\",\"execute\"")) {
        continue;
      }
      assertThat(engine.decideText(new Caller("api:x"), spelling, Optional.empty()).effect())
          .as("a policy that denies everything would pass the corpus: %s", spelling).isEqualTo(Effect.ALLOW);
    }
  }

  /** The line and the spellings QEMU would run as the same command. */
  static Set<String> spellings(String line) {
    Set<String> out = new LinkedHashSet<>();
    out.add(line);
    out.add(" \t" + line.replace(",", ", ").replace(":", " : ") + "\r\n");
    out.add(line.replace('"', '\''));
    Matcher m = EXECUTE.matcher(line);
    if (m.matches()) {
      String name = m.group(1);
      String rest = m.group(2);
      out.add("{\"execute\":\"" + name.toUpperCase(Locale.ROOT) + "\"" + rest);
      out.add("{\"execute\":\"" + swapSeparators(name) + "\"" + rest);
      out.add("{\"execute\":\"" + unicodeEscaped(name) + "\"" + rest);
      out.add("{\"exec-oob\":\"" + name + "\"" + rest.replaceFirst("}$", ",\"id\":\"o1\"}"));
      out.add("{\"execute\":\"query-status\",\"execute\":\"" + name + "\"" + rest);
      out.add("{\"id\":{\"execute\":\"query-status\"},\"execute\":\"" + name + "\"" + rest);
    }
    return out;
  }

  private static String swapSeparators(String name) {
    StringBuilder b = new StringBuilder(name.length());
    for (char c : name.toCharArray()) {
      b.append(c == '-' ? '_' : c == '_' ? '-' : c);
    }
    return b.toString();
  }

  private static String unicodeEscaped(String name) {
    StringBuilder b = new StringBuilder();
    for (char c : name.toCharArray()) {
      b.append(String.format("\\u%04x", (int) c));
    }
    return b.toString();
  }

  static List<String> corpus() {
    List<String> lines = new ArrayList<>();
    for (String raw : resource("/bypass/host-reaching.txt").split("\n")) {
      String line = raw.strip();
      if (!line.isEmpty() && !line.startsWith("#")) {
        lines.add(line);
      }
    }
    return lines;
  }

  private static String resource(String path) {
    try (InputStream in = BypassCorpusTest.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + path + " is missing: restore it from git");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
