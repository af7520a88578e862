package io.qmpsidecar.qmp.impl.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Framing, decoding and encoding with no server. */
class QmpCodecTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int LIMIT = 1024 * 1024;
  private final List<String> lines = new ArrayList<>();
  private final List<QmpProtocolException> errors = new ArrayList<>();
  private final QmpLineFramer framer = new QmpLineFramer(LIMIT,
      b -> lines.add(new String(b, StandardCharsets.UTF_8)), errors::add);
  private final QmpMessageDecoder decoder = new QmpMessageDecoder(MAPPER);

  @Test
  void aLineSplitAcrossReadsIsJoined() {
    framer.handle(Buffer.buffer("{\"return\":"));
    framer.handle(Buffer.buffer("{}, \"id\""));
    assertThat(lines).isEmpty();
    framer.handle(Buffer.buffer(": 1}\r\n"));
    assertThat(lines).containsExactly("{\"return\":{}, \"id\": 1}");
  }

  @Test
  void severalMessagesInOneReadAreSplitAndBlankLinesSkipped() {
    framer.handle(Buffer.buffer("{\"a\":1}\r\n\r\n{\"b\":2}\n{\"c\""));
    assertThat(lines).containsExactly("{\"a\":1}", "{\"b\":2}");
    framer.handle(Buffer.buffer(":3}\r\n"));
    assertThat(lines).containsExactly("{\"a\":1}", "{\"b\":2}", "{\"c\":3}");
  }

  @Test
  void anOversizedLineInOneReadIsRefused() {
    framer.handle(Buffer.buffer("\"" + "x".repeat(LIMIT + 5) + "\"\n{\"after\":1}\n"));
    assertThat(lines).isEmpty();
    assertThat(errors).singleElement().extracting(Throwable::getMessage).asString()
        .contains("longer than " + LIMIT + " bytes");
  }

  @Test
  void anOversizedLineArrivingInPiecesIsRefusedBeforeItIsWhole() {
    byte[] chunk = "y".repeat(64 * 1024).getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 20 && errors.isEmpty(); i++) {
      framer.handle(Buffer.buffer(chunk));
    }
    assertThat(errors).hasSize(1);
    assertThat(lines).isEmpty();
  }

  @Test
  void theLimitCountsALineWithoutItsLineEndWhereverTheReadsSplitIt() {
    List<String> small = new ArrayList<>();
    List<QmpProtocolException> refused = new ArrayList<>();
    QmpLineFramer eight = new QmpLineFramer(8, b -> small.add(new String(b, StandardCharsets.UTF_8)), refused::add);
    eight.handle(Buffer.buffer("{\"a\":12}\r"));
    eight.handle(Buffer.buffer("\n{\"b\":"));
    eight.handle(Buffer.buffer("3}\r\n{\"c\":4}\n"));
    assertThat(small).containsExactly("{\"a\":12}", "{\"b\":3}", "{\"c\":4}");
    assertThat(refused).isEmpty();
    eight.handle(Buffer.buffer("{\"d\":"));
    eight.handle(Buffer.buffer("123}\n{\"e\":1}\n"));
    assertThat(refused).singleElement().extracting(Throwable::getMessage).asString().contains("longer than 8 bytes");
    assertThat(small).hasSize(3);
  }

  @Test
  void decodesGreetingReplyErrorAndEvent() {
    QmpMessage greeting = decode("{\"QMP\":{\"version\":{\"qemu\":{\"micro\":2,\"minor\":0,\"major\":10},"
        + "\"package\":\"Debian 1:10.0.2\"},\"capabilities\":[\"oob\"]}}");
    assertThat(greeting).isInstanceOfSatisfying(QmpMessage.Greeting.class, g -> {
      assertThat(g.greeting().version().toString()).isEqualTo("10.0.2");
      assertThat(g.greeting().version().pkg()).isEqualTo("Debian 1:10.0.2");
      assertThat(g.greeting().offers("oob")).isTrue();
    });
    assertThat(decode("{\"return\":{\"status\":\"running\"},\"id\":7}"))
        .isInstanceOfSatisfying(QmpMessage.Return.class, r -> {
          assertThat(r.id().asLong()).isEqualTo(7);
          assertThat(r.value().path("status").asText()).isEqualTo("running");
        });
    assertThat(decode("{\"id\":\"x\",\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"Device 'a' not found\"}}"))
        .isEqualTo(new QmpMessage.Error(MAPPER.getNodeFactory().textNode("x"), "DeviceNotFound", "Device 'a' not found"));
    assertThat(decode("{\"timestamp\":{\"seconds\":1795508409,\"microseconds\":151065},"
        + "\"event\":\"DEVICE_DELETED\",\"data\":{\"device\":\"n1\",\"path\":\"/machine/peripheral/n1\"}}"))
        .isInstanceOfSatisfying(QmpMessage.Event.class, e -> {
          assertThat(e.event().name()).isEqualTo("DEVICE_DELETED");
          assertThat(e.event().text("device")).isEqualTo("n1");
          assertThat(e.event().timestamp().getEpochSecond()).isEqualTo(1795508409L);
          assertThat(e.event().timestamp().getNano()).isEqualTo(151065000);
        });
  }

  @Test
  void anErrorWithoutIdHasANullId() {
    assertThat(decode("{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error\"}}"))
        .isInstanceOfSatisfying(QmpMessage.Error.class, e -> assertThat(e.id()).isNull());
  }

  @Test
  void garbageAndStrangersAreProtocolErrorsThatQuoteTheLine() {
    assertThatThrownBy(() -> decode("not json")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("not JSON").hasMessageContaining("not json");
    assertThatThrownBy(() -> decode("[1,2]")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("not a JSON object");
    assertThatThrownBy(() -> decode("{\"hello\":1}")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("neither greeting, reply nor event");
  }

  @Test
  void membersMeanTheSameInAnyOrderAndTheLastOfARepeatedOneCounts() {
    assertThat(decode("{\"data\":{\"a\":1},\"event\":\"X\",\"timestamp\":{\"microseconds\":5,\"seconds\":2},\"extra\":[1,{}]}"))
        .isInstanceOfSatisfying(QmpMessage.Event.class, e -> {
          assertThat(e.event().data().path("a").asInt()).isEqualTo(1);
          assertThat(e.event().timestamp()).isEqualTo(java.time.Instant.ofEpochSecond(2, 5000));
        });
    assertThat(decode("{\"id\":1,\"return\":{},\"id\":2}")).isInstanceOfSatisfying(QmpMessage.Return.class,
        r -> assertThat(r.id().asInt()).isEqualTo(2));
    // A reply wins over an event member, an error over an event; a non-text event is no event.
    assertThat(decode("{\"event\":\"X\",\"return\":null}")).isInstanceOfSatisfying(QmpMessage.Return.class,
        r -> assertThat(r.value().isNull()).isTrue());
    assertThat(decode("{\"event\":\"X\",\"error\":null}")).isEqualTo(new QmpMessage.Error(null, "GenericError", ""));
    assertThatThrownBy(() -> decode("{\"event\":\"X\",\"event\":7}")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("neither greeting, reply nor event");
  }

  @Test
  void anEventWithoutDataOrAReadableTimestampStillArrives() {
    assertThat(decode("{\"event\":\"STOP\",\"timestamp\":null}")).isInstanceOfSatisfying(QmpMessage.Event.class, e -> {
      assertThat(e.event().data().isEmpty()).isTrue();
      assertThat(e.event().timestamp()).isEqualTo(java.time.Instant.EPOCH);
    });
    assertThat(decode("{\"event\":\"STOP\",\"timestamp\":{\"seconds\":\"7\",\"microseconds\":{\"x\":1}}}"))
        .isInstanceOfSatisfying(QmpMessage.Event.class,
            e -> assertThat(e.event().timestamp()).isEqualTo(java.time.Instant.ofEpochSecond(7)));
    java.time.Instant before = java.time.Instant.now();
    assertThat(decode("{\"event\":\"STOP\"}")).isInstanceOfSatisfying(QmpMessage.Event.class,
        e -> assertThat(e.event().timestamp()).isAfterOrEqualTo(before));
  }

  @Test
  void aLineCutInsideItsObjectIsNotJsonAndWhatFollowsTheObjectIsIgnored() {
    assertThatThrownBy(() -> decode("{\"return\":{}")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("not JSON");
    assertThatThrownBy(() -> decode("{\"return\":{},\"id\":")).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("not JSON");
    assertThat(decode("{\"return\":{},\"id\":3} trailing")).isInstanceOf(QmpMessage.Return.class);
  }

  @Test
  void encodesCompactLinesWithNumericIds() {
    QmpCommandEncoder encoder = new QmpCommandEncoder(MAPPER);
    ObjectNode args = MAPPER.createObjectNode().put("id", "nic0");
    assertThat(encoder.encode("device_del", args, 12, false).toString())
        .isEqualTo("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"nic0\"},\"id\":12}\n");
    assertThat(encoder.encode("migrate-pause", null, 3, true).toString())
        .isEqualTo("{\"exec-oob\":\"migrate-pause\",\"id\":3}\n");
    assertThat(encoder.encode("qmp_capabilities", null, -1, false).toString())
        .isEqualTo("{\"execute\":\"qmp_capabilities\"}\n");
  }

  private QmpMessage decode(String line) {
    return decoder.decode(line.getBytes(StandardCharsets.UTF_8));
  }
}
