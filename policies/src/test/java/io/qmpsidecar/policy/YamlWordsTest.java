package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;

/**
 * Only {@code true} and {@code false} are booleans in a policy (YAML 1.2): YAML 1.1's {@code yes},
 * {@code no}, {@code on}, {@code off} stay the words they are, so a string field keeps them and a
 * boolean field refuses them.
 */
class YamlWordsTest {

  @Test
  void aYaml11WordIsAStringWhereAStringIsMeant() {
    Policy policy = Policies.parse("version: 1\nname: words\nrules:\n"
        + "  - {id: no, effect: allow, callers: ['*'], commands: ['*']}\n", "words.yaml", false);
    assertThat(policy.ruleIds()).containsExactly("no");
  }

  @Test
  void aYaml11WordIsRefusedWhereABooleanIsMeant() {
    PolicyLoadException e = catchThrowableOfType(PolicyLoadException.class, () -> Policies.parse(
        "version: 1\nname: words\nrules:\n  - id: r\n    effect: allow\n    callers: ['*']\n    commands: ['*']\n"
            + "    when:\n      arguments.romfile: {present: yes}\n", "words.yaml", false));
    assertThat(e.errors()).extracting(PolicyError::toString)
        .containsExactly("words.yaml:9:27: rules[0].when.arguments.romfile.present: must be true or false");
  }
}
