package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a client reads through the proxy is byte for byte what QEMU's own monitor writes for the
 * same bytes: framing and error recovery, ids, member order and number formats, replies after
 * the client shut down its sending side, and events ahead of the reply QEMU wrote them before.
 */
class ProxyWireIT {

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();

  /** Sends {@code bytes}, shuts down the sending side and returns every line until QEMU closes. */
  private List<String> session(Path socket, byte[] bytes) {
    return fx.connect(socket).send(bytes).shutdownOutput().untilClosed(30);
  }

  private void assertSameAsQemu(String what, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    List<String> direct = session(fx.direct(), bytes);
    List<String> proxied = session(fx.proxy.socketPath(), bytes);
    assertThat(proxied).as(what + ": QEMU answered\n" + String.join("", direct))
        .containsExactlyElementsOf(direct);
  }

  private static final String NEGOTIATE = "{\"execute\":\"qmp_capabilities\"}\n";

  @QemuTest
  void linesBeforeAndDuringNegotiationGetQemusBytes(QemuBinary binary) {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    assertSameAsQemu("before negotiation", String.join("\n",
        "{\"execute\":\"query-status\",\"id\":\"early\"}",
        "[1]",
        "{\"exec-oob\":\"query-status\",\"id\":1}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"bogus\"]},\"id\":2}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"},\"id\":2.5}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"x\":1},\"id\":2.75}",
        "{\"execute\":\"qmp_capabilities\",\"id\":{\"x\":[1]}}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":3}",
        ""));
  }

  @QemuTest
  void junkAroundCommandsIsReportedAsQemuDoesAndTheCommandsAreAnswered(QemuBinary binary) {
    assumeTrue(ProxyFixture.reproducesJsonParser(binary), "the proxy answers malformed JSON as"
        + " QEMU 7.2 to 10.x do; QEMU " + binary.version() + " words it differently (docs/proxy.md)");
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    assertSameAsQemu("the issue's framing cases and malformed JSON", NEGOTIATE + String.join("",
        "hello{\"execute\":\"query-name\",\"id\":1}\n",
        "1 {\"execute\":\"query-name\",\"id\":2}\n",
        "} {\"execute\":\"query-name\",\"id\":3}\n",
        "\u00ff{\"execute\":\"query-name\",\"id\":4}\n",
        "\u0000{\"execute\":\"query-name\",\"id\":5}\n",
        "{\"execute\":\"query-\nname\",\"id\":6}\n{\"execute\":\"query-name\",\"id\":7}\n",
        "[}]\n{\"execute\":\"query-name\",\"id\":8}\n",
        "{]\n{\"execute\":\"query-name\",\"id\":9}\n",
        "%d {\"execute\":\"query-name\",\"id\":10}\n",
        "\u00ff \"x\",{\"execute\":\"query-name\",\"id\":11}\n",
        "{\"execute\":\"query-name\",\"id\":12}{\"execute\":\"query-name\",\"id\":13}",
        "{'execute':'query-name','id':'single-quoted'}\r\n",
        "{\"execute\":\"query-name\",\"id\":\"\u00c3\u00a9\u00ff\"}\n",
        "garbage\n",
        "{\"execute\":\"query-status\",\"id\":8,\"id\":9}\n",
        "[".repeat(1025) + "]".repeat(1025) + "\n",
        "{\"execute\":\"query-name\",\"id\":" + "[".repeat(1023) + "]".repeat(1023) + "}\n",
        "{\"execute\":\"query-name\",\"id\":\"\\ud800\"}\n",
        "{\"execute\":\"query-name\",\"id\":\"\u00e2\u0082\"}\n"));
  }

  @QemuTest
  void idsComeBackAsQemuEchoesThem(QemuBinary binary) {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    StringBuilder s = new StringBuilder(NEGOTIATE);
    for (String id : List.of("1e3", "1e400", "-1e400", "-0", "-0.0", "0.1", "18446744073709551615",
        "18446744073709551616", "-9223372036854775809", "1E-7", "true", "null", "[]", "{}",
        "{\"b\":1,\"a\":[2,{\"d\":\"\\u00e9\",\"c\":\"\\ud83d\\ude00\"}]}", "\"\\u0000\\u007f\"",
        "'\\''", "\"a}[\\\"\"")) {
      s.append("{\"execute\":\"query-name\",\"id\":").append(id).append("}\n");
    }
    assertSameAsQemu("ids of every kind", s.toString());
  }

  @QemuTest
  void malformedCommandsGetQemusDispatcherErrorsInQemusMemberOrder(QemuBinary binary) {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    assertSameAsQemu("commands QEMU's dispatcher refuses", NEGOTIATE + String.join("\n",
        "{\"execute\":\"query-status\",\"arguments\":[],\"id\":6}",
        "{\"execute\":\"query-name\",\"foo\":1,\"arguments\":[],\"bar\":2}",
        "{\"id\":10}",
        "{\"execute\":5,\"id\":11}",
        "{\"execute\":\"query-name\",\"exec-oob\":\"x\",\"id\":12}",
        "{\"exec-oob\":\"query-name\",\"id\":13}",
        "{\"execute\":\"nosuch\",\"id\":14}",
        "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"property\":\"nope\"},\"id\":15}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"bogus\"]},\"id\":16}",
        "{\"execute\":\"qmp_capabilities\",\"id\":17}",
        ""));
  }

  /** The reproduction, as written: socat shuts down its sending side at the end of input. */
  private static String socatPrintf(Path socket, String lines) throws IOException, InterruptedException {
    return ProxyFixture.run(List.of("socat", "-t5", "-", "UNIX-CONNECT:" + socket), lines);
  }

  @QemuTest
  void aClientThatShutsDownItsSendingSideGetsEveryReply(QemuBinary binary) throws Exception {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    String query = NEGOTIATE + "{\"execute\":\"query-status\",\"id\":1}\n";
    for (int i = 0; i < 20; i++) {
      assertThat(socatPrintf(fx.proxy.socketPath(), query).lines())
          .as("run %d", i).hasSize(3).last().asString().startsWith("{\"return\": {\"status\": \"running\"");
    }
    // A command that changes the VM: its reply arrives too, after its event, and then the end.
    String stop = NEGOTIATE + "{\"execute\":\"stop\",\"id\":1}\n";
    List<String> lines = socatPrintf(fx.proxy.socketPath(), stop).lines().toList();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(2)).contains("\"event\": \"STOP\"");
    assertThat(lines.get(3)).isEqualTo("{\"return\": {}, \"id\": 1}");
    // Many pipelined commands, a partial one at the end that QEMU drops as well.
    StringBuilder many = new StringBuilder(NEGOTIATE);
    for (int i = 0; i < 50; i++) {
      many.append("{\"execute\":\"query-name\",\"id\":").append(i).append("}");
    }
    many.append("{\"execute\":\"query-na");
    List<String> replies = session(fx.proxy.socketPath(), many.toString().getBytes(StandardCharsets.US_ASCII));
    assertThat(replies).hasSize(52).last().isEqualTo("{\"return\": {}, \"id\": 49}\r\n");
    // The proxy closes its side after the last reply; it forgets the client a moment later.
    Await.until("the proxy has let the client go", () -> fx.proxy.clients().isEmpty());
  }

  @QemuTest
  void anEventQemuWroteBeforeAReplyReachesTheClientBeforeIt(QemuBinary binary) {
    fx.start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
    for (Path socket : List.of(fx.direct(), fx.proxy.socketPath())) {
      LineSocket c = fx.connect(socket);
      c.line();
      c.send(NEGOTIATE);
      c.line();
      for (int i = 0; i < 20; i++) {
        String command = i % 2 == 0 ? "stop" : "cont";
        String event = i % 2 == 0 ? "STOP" : "RESUME";
        c.send("{\"execute\":\"" + command + "\",\"id\":" + i + "}");
        List<String> seen = new ArrayList<>();
        do {
          seen.add(c.line());
        } while (!seen.get(seen.size() - 1).contains("\"id\": " + i + "}"));
        assertThat(seen).as("%s, %s #%d", socket.getFileName(), command, i).hasSize(2);
        assertThat(seen.get(0)).contains("\"event\": \"" + event + "\"");
      }
    }
  }
}
