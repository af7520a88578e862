package io.qmpsidecar.relay.impl.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonRpcCodecTest {

  private static RpcDecodeException refused(String text) {
    return catchThrowableOfType(RpcDecodeException.class, () -> JsonRpcCodec.decode(text));
  }

  @Test
  void decodesEachKindAndIgnoresUnknownMembers() throws Exception {
    RpcMessage request = JsonRpcCodec.decode(
        "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"vm.list\",\"params\":{\"x\":1},\"extra\":true}");
    RpcMessage notification = JsonRpcCodec.decode("{\"jsonrpc\":\"2.0\",\"method\":\"relay.ack\",\"params\":{\"seq\":9}}");
    RpcMessage result = JsonRpcCodec.decode("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"ok\":1}}");

    assertThat(request).isInstanceOfSatisfying(RpcMessage.Request.class, r -> {
      assertThat(r.id().asText()).isEqualTo("a");
      assertThat(r.params().get("x").asInt()).isEqualTo(1);
    });
    assertThat(notification).isInstanceOfSatisfying(RpcMessage.Notification.class,
        n -> assertThat(n.params().get("seq").asLong()).isEqualTo(9));
    assertThat(result).isInstanceOfSatisfying(RpcMessage.Result.class, r -> assertThat(r.id().asLong()).isEqualTo(3));
  }

  @Test
  void errorWithUnknownCodeKeepsTheCode() throws Exception {
    RpcMessage m = JsonRpcCodec.decode("{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-31000,\"message\":\"new\","
        + "\"data\":{\"k\":\"v\"}}}");

    RelayError e = ((RpcMessage.Error) m).error();
    assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN);
    assertThat(e.data()).containsEntry("code", -31000).containsEntry("k", "v");
  }

  @Test
  void refusesBadMessagesWithTheRightCodeAndId() {
    assertThat(refused("{\"jsonrpc\":").error().code()).isEqualTo(ErrorCode.PARSE_ERROR);
    assertThat(refused("[]").error().code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(refused("{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"m\"}").id().asInt()).isEqualTo(5);
    assertThat(refused("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"m\",\"params\":[1]}").error().code())
        .isEqualTo(ErrorCode.INVALID_PARAMS);
    assertThat(refused("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}").id().isNull()).isTrue();
    assertThat(refused("{\"jsonrpc\":\"2.0\",\"id\":7}").error().message()).contains("neither");
  }

  @Test
  void sequencedNotificationPutsSeqFirst() {
    String text = JsonRpcCodec.sequencedNotification("op.failed", 12, Map.of("opId", "a"));

    assertThat(text).isEqualTo("{\"jsonrpc\":\"2.0\",\"method\":\"op.failed\",\"params\":{\"seq\":12,\"opId\":\"a\"}}");
  }
}
