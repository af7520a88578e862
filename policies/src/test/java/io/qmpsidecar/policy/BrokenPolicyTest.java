package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Loads every broken policy under src/test/resources/broken and expects exactly the errors
 * listed for it in broken/EXPECTED.txt, in the form {@code policy check} prints them.
 */
class BrokenPolicyTest {

  static Stream<Map.Entry<String, List<String>>> brokenFiles() {
    Map<String, List<String>> expected = new LinkedHashMap<>();
    for (String line : CorpusLine.resource("/broken/EXPECTED.txt").split("\n")) {
      if (!line.isBlank()) {
        String file = line.substring(0, line.indexOf(':'));
        expected.computeIfAbsent(file, f -> new ArrayList<>()).add(line);
      }
    }
    return expected.entrySet().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenFiles")
  void reportsEveryErrorWithFileLineAndField(Map.Entry<String, List<String>> file) {
    String name = file.getKey();
    String text = CorpusLine.resource("/broken/" + name);

    PolicyLoadException e = catchThrowableOfType(PolicyLoadException.class,
        () -> Policies.parse(text, name, name.endsWith(".json")));

    assertThat(e).as("%s must be rejected", name).isNotNull();
    assertThat(e.errors()).extracting(PolicyError::toString).containsExactlyElementsOf(file.getValue());
    assertThat(e.errors()).allSatisfy(err -> assertThat(err.line()).isPositive());
  }

  @org.junit.jupiter.api.Test
  void everyBrokenFileHasExpectedErrors() {
    assertThat(brokenFiles().map(Map.Entry::getKey))
        .containsExactlyInAnyOrder("bad-effect.yaml", "bad-hotplug.yaml", "bad-json.json",
            "bad-matchers.yaml", "bad-schema.yaml", "bad-sections.yaml", "duplicate-key.yaml",
            "duplicate-rule-id.yaml", "missing-fields.yaml", "not-yaml.yaml",
            "wrong-version.yaml");
  }
}
