package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.resilience.FuzzFigures;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * A proxy client's bytes through the proxy's client side: QEMU's streamer and parser as the proxy
 * runs them (in reads of any size, paused and resumed), QEMU's dispatcher checks and the policy
 * decision. Whatever the client sends: the messages do not depend on how the bytes were split
 * into reads or where reading paused; every message is refused with QEMU's error or names a
 * command; what QEMU reads back from the command the proxy sends is exactly the arguments object
 * the policy decided on; and a command that reaches the host is denied under any name QEMU's
 * dispatcher would run.
 */
class ProxyClientFuzzTest {
  private static final int MAX_BYTES = 4096;
  private static final AtomicLong EXECUTIONS = new AtomicLong();
  /** How qmp-client writes a command to QEMU: Jackson's defaults. */
  private static final ObjectMapper WIRE = new ObjectMapper();
  private static final PolicyEngine POLICY =
      new PolicyEngine(Policies.preset("default"), AuditSink.NONE, Clock.systemUTC());
  /** The host-reaching commands of ARCHITECTURE.md, normalized (lower case, '-' for '_'). */
  private static final Set<String> HOST_REACHING = Set.of("human-monitor-command", "quit",
      "dump-guest-memory", "pmemsave", "memsave", "screendump", "object-add", "chardev-add",
      "netdev-add", "blockdev-add", "blockdev-create", "getfd", "add-fd", "qom-set");

  @AfterAll
  static void figures() {
    FuzzFigures.record("QMP proxy client side", EXECUTIONS.get());
  }

  @FuzzTest(maxDuration = "10s")
  void bytesFromAProxyClient(FuzzedDataProvider data) throws IOException {
    EXECUTIONS.incrementAndGet();
    boolean oob = data.consumeBoolean();
    int chunk = data.consumeInt(1, 64);
    int pauseEvery = data.consumeInt(1, 8);
    byte[] stream = data.consumeRemainingAsBytes();
    List<String> whole = read(stream, Math.max(1, stream.length), Integer.MAX_VALUE);
    assertThat(read(stream, chunk, pauseEvery)).as("messages must not depend on how the bytes were read")
        .containsExactlyElementsOf(whole);
    for (JsonNode message : messages(stream, MAX_BYTES)) {
      ProxyRequest request = ProxyRequest.of(message, oob);
      assertThat(request.error() == null).as("either refused or a command").isEqualTo(request.command() != null);
      if (request.command() == null) {
        continue;
      }
      ObjectNode arguments = request.arguments() != null ? request.arguments() : JsonNodeFactory.instance.objectNode();
      List<JsonNode> reread = messages(WIRE.writeValueAsBytes(arguments), 1 << 20);
      assertThat(reread).as("QEMU reads the arguments the policy decided on").containsExactly(arguments);
      Decision decision = POLICY.decide(PolicyRequest.of(new Caller("proxy:fuzz"), request.command(), arguments));
      String name = request.command().toLowerCase(Locale.ROOT).replace('_', '-');
      if (HOST_REACHING.contains(name) || name.startsWith("x-")) {
        assertThat(decision.effect()).as("%s must be denied: %s", request.command(), decision).isEqualTo(Effect.DENY);
      }
    }
  }

  /** The messages of {@code stream}, each as QEMU's text or its error. */
  private static List<String> read(byte[] stream, int chunk, int pauseEvery) {
    List<String> out = new ArrayList<>();
    ClientInput[] input = new ClientInput[1];
    int[] count = new int[1];
    input[0] = new ClientInput(new QemuJsonStreamer(MAX_BYTES, new QemuJsonStreamer.Sink() {
      @Override
      public void value(JsonNode value) {
        out.add(QemuJsonWriter.write(value));
        pauseNow();
      }

      @Override
      public void error(String desc) {
        out.add("error: " + desc);
        pauseNow();
      }

      private void pauseNow() {
        if (++count[0] % pauseEvery == 0) {
          input[0].pause();
        }
      }
    }));
    for (int i = 0; i < stream.length; i += chunk) {
      input[0].handle(Buffer.buffer(Arrays.copyOfRange(stream, i, Math.min(stream.length, i + chunk))));
      input[0].resume();
    }
    while (!input[0].consumed()) {
      input[0].resume();
    }
    return out;
  }

  private static List<JsonNode> messages(byte[] bytes, int maxBytes) {
    List<JsonNode> values = new ArrayList<>();
    QemuJsonStreamer streamer = new QemuJsonStreamer(maxBytes, new QemuJsonStreamer.Sink() {
      @Override
      public void value(JsonNode value) {
        values.add(value);
      }

      @Override
      public void error(String desc) {
        // Errors are the streamer's answer; only the values matter here.
      }
    });
    for (byte b : bytes) {
      streamer.feed(b);
    }
    return values;
  }
}
