package io.qmpsidecar.qmp.impl;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.QmpClosedException;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.impl.codec.QmpCommandEncoder;
import io.qmpsidecar.qmp.impl.codec.QmpLineFramer;
import io.qmpsidecar.qmp.impl.codec.QmpMessage;
import io.qmpsidecar.qmp.impl.codec.QmpMessageDecoder;
import io.qmpsidecar.resilience.FuzzFigures;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Bytes from a hostile or broken QEMU through the line framer, the message decoder and the
 * reply matcher. Whatever arrives: the only error is a {@link QmpProtocolException}, the lines
 * do not depend on how the bytes were split into reads, the pipeline never holds more than its
 * limit, and after the connection closes every caller has an answer.
 */
class QmpCodecFuzzTest {
  private static final int MAX_LINE = 4096;
  private static final int MAX_IN_FLIGHT = 8;
  private static final int MAX_QUEUED = 4;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final AtomicLong EXECUTIONS = new AtomicLong();
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void figures() {
    FuzzFigures.record("QMP line codec + reply matcher", EXECUTIONS.get());
    vertx.close().await();
  }

  @FuzzTest(maxDuration = "10s")
  void bytesFromQemu(FuzzedDataProvider data) {
    EXECUTIONS.incrementAndGet();
    int commands = data.consumeInt(0, MAX_IN_FLIGHT + MAX_QUEUED + 2);
    int chunk = data.consumeInt(1, 64);
    byte[] stream = data.consumeRemainingAsBytes();

    List<byte[]> whole = frame(stream, stream.length == 0 ? 1 : stream.length);
    List<byte[]> split = frame(stream, chunk);
    assertThat(split).as("lines must not depend on how the bytes were read")
        .usingElementComparator(Arrays::compare).containsExactlyElementsOf(whole);

    CommandPipeline pipeline = new CommandPipeline(vertx, new QmpCommandEncoder(MAPPER), MAX_IN_FLIGHT, MAX_QUEUED, "fuzz");
    List<Buffer> written = new ArrayList<>();
    pipeline.attach(written::add, fds -> {
      throw new AssertionError("no command of this fuzz carries file descriptors");
    });
    List<Promise<?>> callers = new ArrayList<>();
    for (int i = 0; i < commands; i++) {
      Promise<Object> p = Promise.promise();
      @SuppressWarnings({"unchecked", "rawtypes"})
      PendingCommand<Object> cmd = new PendingCommand(i % 2 == 0 ? QmpCommands.queryStatus()
          : QmpCommands.qomList("/machine/peripheral"), i % 5 == 4, p);
      pipeline.submit(cmd, Duration.ofHours(1));
      callers.add(p);
    }
    QmpMessageDecoder decoder = new QmpMessageDecoder(MAPPER);
    for (byte[] line : whole) {
      QmpMessage message;
      try {
        message = decoder.decode(line);
      } catch (QmpProtocolException e) {
        assertThat(e.getMessage()).isNotBlank();
        continue;
      }
      if (message instanceof QmpMessage.Return || message instanceof QmpMessage.Error) {
        pipeline.onReply(message);
      }
      assertThat(pipeline.inFlight()).isLessThanOrEqualTo(commands);
      assertThat(pipeline.queued()).isLessThanOrEqualTo(MAX_QUEUED);
    }
    QmpClosedException closed = new QmpClosedException("fuzz: connection closed");
    pipeline.failAll(closed, closed);
    assertThat(pipeline.inFlight()).isZero();
    assertThat(pipeline.queued()).isZero();
    assertThat(callers).allSatisfy(p -> assertThat(p.future().isComplete()).isTrue());
    assertThat(written).hasSizeLessThanOrEqualTo(commands);
  }

  private static List<byte[]> frame(byte[] stream, int chunk) {
    List<byte[]> lines = new ArrayList<>();
    List<QmpProtocolException> errors = new ArrayList<>();
    QmpLineFramer framer = new QmpLineFramer(MAX_LINE, lines::add, errors::add);
    for (int i = 0; i < stream.length; i += chunk) {
      framer.handle(Buffer.buffer(Arrays.copyOfRange(stream, i, Math.min(stream.length, i + chunk))));
    }
    assertThat(lines).allSatisfy(l -> assertThat(l.length).isLessThanOrEqualTo(MAX_LINE));
    assertThat(errors).hasSizeLessThanOrEqualTo(1);
    return lines;
  }
}
