package io.qmpsidecar.relay.impl.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageAssemblerTest {

  final List<String> events = new ArrayList<>();
  final MessageAssembler assembler = new MessageAssembler(10, new MessageAssembler.Sink() {
    @Override
    public void message(String text) {
      events.add("message " + text);
    }

    @Override
    public void oversized(long bytes) {
      events.add("oversized " + bytes);
    }

    @Override
    public void binary() {
      events.add("binary");
    }
  });

  @Test
  void joinsFramesDropsOversizedAndRecovers() {
    assembler.frame(WebSocketFrame.textFrame("abc", false));
    assembler.frame(WebSocketFrame.continuationFrame(Buffer.buffer("def"), true));
    assembler.frame(WebSocketFrame.textFrame("0123456", false));
    assembler.frame(WebSocketFrame.continuationFrame(Buffer.buffer("789ab"), false));
    assembler.frame(WebSocketFrame.continuationFrame(Buffer.buffer("c"), true));
    assembler.frame(WebSocketFrame.binaryFrame(Buffer.buffer("x"), true));
    assembler.frame(WebSocketFrame.textFrame("ok", true));

    assertThat(events).containsExactly("message abcdef", "oversized 13", "binary", "message ok");
  }
}
