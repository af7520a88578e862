package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AuthThrottleTest {
  private final AuthThrottle throttle = new AuthThrottle();

  @Test
  void aPeerMayFailItsBurstThenOncePerRefill() {
    for (int i = 0; i < AuthThrottle.BURST; i++) {
      assertThat(throttle.waitMillis("10.0.0.1", 0)).as("failure %d", i).isZero();
      throttle.failed("10.0.0.1", 0);
    }
    assertThat(throttle.waitMillis("10.0.0.1", 0)).isEqualTo(AuthThrottle.REFILL_MILLIS);
    assertThat(throttle.waitMillis("10.0.0.1", 400)).isEqualTo(AuthThrottle.REFILL_MILLIS - 400);
    assertThat(throttle.waitMillis("10.0.0.1", AuthThrottle.REFILL_MILLIS)).isZero();
    throttle.failed("10.0.0.1", AuthThrottle.REFILL_MILLIS);
    assertThat(throttle.waitMillis("10.0.0.1", AuthThrottle.REFILL_MILLIS)).isPositive();
  }

  @Test
  void peersAreCountedApartAndTheirNumberIsBounded() {
    for (int i = 0; i < AuthThrottle.BURST; i++) {
      throttle.failed("10.0.0.1", 0);
    }
    assertThat(throttle.waitMillis("10.0.0.2", 0)).isZero();
    for (int p = 0; p < AuthThrottle.PEERS; p++) {
      throttle.failed("192.168." + (p / 256) + "." + (p % 256), 0);
    }
    assertThat(throttle.waitMillis("10.0.0.1", 0)).as("the oldest peer is forgotten beyond the bound").isZero();
  }
}
