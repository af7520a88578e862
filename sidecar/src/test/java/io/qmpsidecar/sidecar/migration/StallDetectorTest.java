package io.qmpsidecar.sidecar.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StallDetectorTest {

  @Test
  void shrinkingRemainingNeverStalls() {
    StallDetector d = new StallDetector(2);
    assertThat(d.onPass(1000)).isFalse();
    assertThat(d.onPass(900)).isFalse();
    assertThat(d.onPass(10)).isFalse();
  }

  @Test
  void stallsAfterWindowPassesWithoutANewLow() {
    StallDetector d = new StallDetector(2);
    assertThat(d.onPass(1000)).isFalse();
    assertThat(d.onPass(1200)).isFalse();
    assertThat(d.onPass(1000)).isTrue();
  }

  @Test
  void aNewLowResetsTheCount() {
    StallDetector d = new StallDetector(2);
    d.onPass(1000);
    d.onPass(1100);
    assertThat(d.onPass(999)).isFalse();
    assertThat(d.onPass(1500)).isFalse();
  }

  @Test
  void unknownRemainingIsIgnored() {
    StallDetector d = new StallDetector(1);
    d.onPass(100);
    assertThat(d.onPass(-1)).isFalse();
  }

  @Test
  void windowMustBePositive() {
    assertThatThrownBy(() -> new StallDetector(0)).hasMessageContaining("at least 1 pass");
  }
}
