package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.resilience.FuzzFigures;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * A proxy client's bytes through the proxy's client side: the JSON value splitter, QEMU's
 * dispatcher checks and the policy decision. Whatever the client sends: the values do not depend
 * on how the bytes were split into reads, none is over the limit, every value is either refused
 * with QEMU's error or names a command, and a command that reaches the host under any spelling
 * QEMU's dispatcher would run is denied.
 */
class ProxyClientFuzzTest {
  private static final int MAX_BYTES = 4096;
  private static final AtomicLong EXECUTIONS = new AtomicLong();
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
  void bytesFromAProxyClient(FuzzedDataProvider data) {
    EXECUTIONS.incrementAndGet();
    boolean oob = data.consumeBoolean();
    int chunk = data.consumeInt(1, 64);
    byte[] stream = data.consumeRemainingAsBytes();
    List<byte[]> whole = split(stream, Math.max(1, stream.length));
    assertThat(split(stream, chunk)).as("values must not depend on how the bytes were read")
        .usingElementComparator(Arrays::compare).containsExactlyElementsOf(whole);
    for (byte[] value : whole) {
      ProxyRequest request = ProxyRequest.parse(value, oob);
      assertThat(request.error() == null).as("either refused or a command").isEqualTo(request.command() != null);
      if (request.command() == null) {
        continue;
      }
      Decision decision = POLICY.decideText(new Caller("proxy:fuzz"), new String(value, StandardCharsets.UTF_8), Optional.empty());
      String name = request.command().toLowerCase(Locale.ROOT).replace('_', '-');
      if (HOST_REACHING.contains(name) || name.startsWith("x-")) {
        assertThat(decision.effect()).as("%s must be denied: %s", request.command(), decision).isEqualTo(Effect.DENY);
      }
    }
  }

  private static List<byte[]> split(byte[] stream, int chunk) {
    List<byte[]> values = new ArrayList<>();
    int[] tooLong = new int[1];
    JsonValueSplitter splitter = new JsonValueSplitter(MAX_BYTES, values::add, () -> tooLong[0]++);
    for (int i = 0; i < stream.length; i += chunk) {
      splitter.handle(Buffer.buffer(Arrays.copyOfRange(stream, i, Math.min(stream.length, i + chunk))));
    }
    assertThat(values).allSatisfy(v -> assertThat(v.length).isLessThanOrEqualTo(MAX_BYTES));
    assertThat(tooLong[0]).isLessThanOrEqualTo(1);
    return values;
  }
}
