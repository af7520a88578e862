package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.HostEndConformance;
import io.qmpsidecar.relay.conformance.HostEndFixture;
import io.qmpsidecar.relay.conformance.Wire;
import io.qmpsidecar.relay.conformance.WireLink;
import io.qmpsidecar.relay.testing.ReferenceHostEnd;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** This project's host end ({@link RelayHost}) against every promise of the protocol. */
class RelayHostConformanceTest extends HostEndConformance {

  @Override
  protected HostEndFixture newHost(Path dir) {
    return new ReferenceHostEnd(dir);
  }

  /**
   * Here rather than in the suite, as the next test: it needs more attached devices than a real
   * host end's fixture can attach, enough for a snapshot over the smallest maxMessageBytes.
   */
  @Test
  void aSnapshotOverMaxMessageBytesIsNotSentAndTheLinkClosesNamingTheLimit() {
    WireLink link = linkWithAStateOverTheSmallestLimit();
    link.close();

    WireLink again = dpu.awaitLink(Duration.ofSeconds(20));
    JsonObject hello = awaitHello(again);
    long ahead = hello.getJsonObject("params").getLong("lastSeq") + 1000;
    again.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, ahead).encode());
    again.awaitClosed(WireLink.WAIT);
    List<JsonObject> received = again.drain();

    assertThat(received).noneMatch(m -> "state.snapshot".equals(m.getString("method")));
    assertThat(again.closeReason()).contains("maxMessageBytes");
  }

  /**
   * A link that ends right after its hello (here: the snapshot it needs is over the limit) is not
   * a link that was up: the host keeps backing off (50 ms doubling to 400 ms in this fixture)
   * rather than redialing after the first delay each time. Ten redials take at least 10 x 25 ms
   * either way; with the backoff about 1.7 s, without it under 0.5 s.
   */
  @Test
  void aLinkThatEndsRightAfterItsHelloIsRedialedWithBackoff() {
    WireLink link = linkWithAStateOverTheSmallestLimit();
    link.close();
    long waited = 0;
    WireLink again = dpu.awaitLink(Duration.ofSeconds(20));
    for (int i = 0; i < 10; i++) {
      JsonObject hello = awaitHello(again);
      long ahead = hello.getJsonObject("params").getLong("lastSeq") + 1000;
      again.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, ahead).encode());
      again.awaitClosed(WireLink.WAIT);
      long closedAt = again.closedAtNanos();
      again = dpu.awaitLink(Duration.ofSeconds(20));
      waited += System.nanoTime() - closedAt;
    }

    assertThat(Duration.ofNanos(waited)).as("ten redials after links that ended at their snapshot")
        .isGreaterThan(Duration.ofMillis(700));
  }

  @Test
  void anAnswerOverMaxMessageBytesIsReplacedByMessageTooLargeWithTheRequestsId() {
    WireLink link = linkWithAStateOverTheSmallestLimit();

    JsonObject answer = call(link, "state.snapshot", new JsonObject());

    assertThat(Wire.errorCode(answer)).as("%s", answer).isEqualTo(-32010);
    assertThat(answer.getValue("id")).isNotNull();
    assertThat(link.isClosed()).isFalse();
  }

  /** A link whose host holds 15 devices: its state is over 1024 bytes, the smallest limit. */
  private WireLink linkWithAStateOverTheSmallestLimit() {
    WireLink link = connect(settings().withMaxMessageBytes(1024), 0);
    for (int i = 0; i < 15; i++) {
      assertThat(Wire.resultOf(call(link, "device.attach", attachParams())).getString("opId")).isNotNull();
    }
    return link;
  }
}
