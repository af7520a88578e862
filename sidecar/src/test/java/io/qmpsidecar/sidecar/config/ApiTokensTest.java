package io.qmpsidecar.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tokens compare by content (a reload tells a changed file) and never show in text (logs). */
class ApiTokensTest {
  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theSameNamesWithTheSameTokensAreEqualAndAnotherTokenIsNot() {
    ApiTokens read = new ApiTokens(Map.of("ci", bytes("0123456789abcdef"), "ops", bytes("fedcba9876543210")));

    assertThat(new ApiTokens(Map.of("ops", bytes("fedcba9876543210"), "ci", bytes("0123456789abcdef"))))
        .isEqualTo(read).hasSameHashCodeAs(read);
    assertThat(new ApiTokens(Map.of("ci", bytes("0123456789abcdeX"), "ops", bytes("fedcba9876543210"))))
        .isNotEqualTo(read);
    assertThat(new ApiTokens(Map.of("ci", bytes("0123456789abcdef")))).isNotEqualTo(read);
  }

  @Test
  void theTextNamesTheCallersNeverATokenAndTheReadArraysAreCopies() {
    Map<String, byte[]> file = new HashMap<>(Map.of("ops", bytes("fedcba9876543210"), "ci", bytes("0123456789abcdef")));
    ApiTokens read = new ApiTokens(file);
    file.get("ci")[0] = 'X';

    assertThat(read).hasToString("ApiTokens[ci, ops]");
    assertThat(read.byCaller().get("ci")).isEqualTo(bytes("0123456789abcdef"));
  }
}
