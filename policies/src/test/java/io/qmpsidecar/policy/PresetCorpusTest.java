package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Runs every request of the preset corpora (src/test/resources/corpus) against its preset. */
class PresetCorpusTest {

  static Stream<CorpusLine> defaultCorpus() {
    return CorpusLine.read("default.txt").stream();
  }

  static Stream<CorpusLine> dpuCorpus() {
    return CorpusLine.read("dpu.txt").stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defaultCorpus")
  void defaultPresetDecidesAsTheCorpusSays(CorpusLine line) {
    check(Policies.preset("default"), line);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dpuCorpus")
  void dpuPresetDecidesAsTheCorpusSays(CorpusLine line) {
    check(Policies.preset("dpu"), line);
  }

  private static void check(Policy policy, CorpusLine line) {
    PolicyEngine engine = new PolicyEngine(policy, CorpusLine.VALUE_SETS, AuditSink.NONE,
        Clock.systemUTC());
    Decision decision = engine.decideText(line.caller(), line.request(), line.context());
    assertThat(decision.effect()).as("%s -> %s", line, decision).isEqualTo(line.effect());
    assertThat(decision.ruleId()).as("%s -> %s", line, decision).isEqualTo(line.ruleId());
    assertThat(decision.reason()).isNotBlank();
  }
}
