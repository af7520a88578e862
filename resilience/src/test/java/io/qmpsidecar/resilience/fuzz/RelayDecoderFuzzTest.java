package io.qmpsidecar.resilience.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.MessageAssembler;
import io.qmpsidecar.relay.impl.codec.RpcDecodeException;
import io.qmpsidecar.relay.impl.codec.RpcMessage;
import io.qmpsidecar.resilience.FuzzFigures;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * WebSocket frames from a hostile DPU peer through the relay's message assembler and JSON-RPC
 * decoder. Whatever arrives: no message over the limit is held or handed on, every decode
 * failure is an {@link RpcDecodeException} whose JSON-RPC error answer can be written, and every
 * decoded message can be written back.
 */
class RelayDecoderFuzzTest {
  private static final int MAX_BYTES = 2048;
  private static final AtomicLong EXECUTIONS = new AtomicLong();

  @AfterAll
  static void figures() {
    FuzzFigures.record("relay frame assembler + JSON-RPC decoder", EXECUTIONS.get());
  }

  @FuzzTest(maxDuration = "10s")
  void framesFromTheDpu(FuzzedDataProvider data) {
    EXECUTIONS.incrementAndGet();
    List<String> messages = new ArrayList<>();
    List<Long> oversized = new ArrayList<>();
    MessageAssembler assembler = new MessageAssembler(MAX_BYTES, new MessageAssembler.Sink() {
      @Override
      public void message(String text) {
        messages.add(text);
      }

      @Override
      public void oversized(long bytes) {
        oversized.add(bytes);
      }

      @Override
      public void binary() {
        messages.add(null);
      }
    });
    int frames = data.consumeInt(1, 8);
    for (int i = 0; i < frames && data.remainingBytes() > 0; i++) {
      int kind = data.consumeInt(0, 3);
      boolean fin = data.consumeBoolean();
      byte[] payload = data.consumeBytes(data.consumeInt(0, 3 * MAX_BYTES));
      assembler.frame(switch (kind) {
        case 0 -> WebSocketFrame.textFrame(new String(payload, StandardCharsets.UTF_8), fin);
        case 1 -> WebSocketFrame.continuationFrame(Buffer.buffer(payload), fin);
        case 2 -> WebSocketFrame.binaryFrame(Buffer.buffer(payload), fin);
        default -> WebSocketFrame.pingFrame(Buffer.buffer(payload));
      });
    }
    assertThat(oversized).allSatisfy(size -> assertThat(size).isGreaterThan(MAX_BYTES));
    for (String text : messages) {
      if (text == null) {
        continue;
      }
      assertThat(text.length()).as("a handed-on message is within the limit").isLessThanOrEqualTo(MAX_BYTES);
      decode(text);
    }
    decode(data.consumeRemainingAsString());
  }

  private static void decode(String text) {
    try {
      RpcMessage message = JsonRpcCodec.decode(text);
      String echoed;
      if (message instanceof RpcMessage.Request r) {
        echoed = JsonRpcCodec.result(r.id(), r.params());
      } else if (message instanceof RpcMessage.Notification n) {
        echoed = JsonRpcCodec.notification(n.method(), n.params());
      } else if (message instanceof RpcMessage.Result r) {
        echoed = JsonRpcCodec.result(r.id(), r.result());
      } else {
        RpcMessage.Error e = (RpcMessage.Error) message;
        echoed = JsonRpcCodec.error(e.id(), e.error());
      }
      assertThat(echoed).startsWith("{");
    } catch (RpcDecodeException e) {
      assertThat(e.error().message()).isNotBlank();
      assertThat(JsonRpcCodec.error(e.id(), e.error())).contains("\"error\"");
    }
  }
}
