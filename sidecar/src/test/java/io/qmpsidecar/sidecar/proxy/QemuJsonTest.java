package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * QEMU's JSON streamer, parser and writer as the proxy reimplements them. Every expected text
 * here is what QEMU 7.2 and 10.0 answered for the same bytes (recorded with a raw client on a
 * second monitor); ProxyDifferentialIT keeps comparing with the real QEMUs.
 */
class QemuJsonTest {

  /** Feeds {@code input} and returns each message as "value: <QEMU's text>" or "error: <desc>". */
  private static List<String> read(byte[] input, int maxBytes) {
    List<String> out = new ArrayList<>();
    QemuJsonStreamer streamer = new QemuJsonStreamer(maxBytes, new QemuJsonStreamer.Sink() {
      @Override
      public void value(JsonNode value) {
        out.add("value: " + QemuJsonWriter.write(value));
      }

      @Override
      public void error(String desc) {
        out.add("error: " + desc);
      }
    });
    for (byte b : input) {
      streamer.feed(b);
    }
    return out;
  }

  private static List<String> read(String input) {
    return read(input.getBytes(StandardCharsets.ISO_8859_1), 1 << 20);
  }

  @Test
  void junkBeforeACommandIsReportedAndTheCommandStillRead() {
    assertThat(read("hello{\"execute\":\"x\"}")).containsExactly(
        "error: JSON parse error, invalid keyword 'hello'", "value: {\"execute\": \"x\"}");
    assertThat(read("1 {\"execute\":\"x\"}")).containsExactly("value: 1", "value: {\"execute\": \"x\"}");
    assertThat(read("} {\"execute\":\"x\"}")).containsExactly(
        "error: JSON parse error, expecting value", "value: {\"execute\": \"x\"}");
    assertThat(read("%d\n{}")).containsExactly("error: JSON parse error, stray '%'", "value: {}");
  }

  @Test
  void impossibleBytesNameTheTokenAsQemuDoesAndRecoveryResumesAtStructure() {
    assertThat(read("\u00ff{}")).containsExactly("error: JSON parse error, stray '\ufffd'", "value: {}");
    // A NUL ends the C string QEMU formats the token into.
    assertThat(read("\u0000{}")).containsExactly("error: JSON parse error, stray ''", "value: {}");
    // After an error QEMU skips to the next { } [ ] : , or control character.
    assertThat(read("\u00ff \"x\",{}")).containsExactly("error: JSON parse error, stray '\ufffd'",
        "error: JSON parse error, expecting value", "value: {}");
    assertThat(read("\u00ff abc:{}")).containsExactly("error: JSON parse error, stray '\ufffd'",
        "error: JSON parse error, expecting value", "value: {}");
  }

  @Test
  void aRawNewlineInAStringEndsTheMessageThereAndTheRestIsReadAfresh() {
    assertThat(read("{\"execute\":\"query-\nname\",\"id\":6}\n{\"id\":7}\n")).containsExactly(
        "error: JSON parse error, stray '\"query-\n'",
        "error: JSON parse error, expecting value",
        "value: \"id\"",
        "error: JSON parse error, expecting value",
        "value: 6",
        "error: JSON parse error, expecting value",
        "value: {\"id\": 7}");
  }

  @Test
  void unbalancedBracketsEndAMessageAsSoonAsACountGoesNegative() {
    assertThat(read("[}]\n")).containsExactly("error: JSON parse error, expecting value",
        "error: JSON parse error, expecting value");
    assertThat(read("{]\n")).containsExactly("error: JSON parse error, expecting value");
    assertThat(read("{\"a\":1}}")).containsExactly("value: {\"a\": 1}",
        "error: JSON parse error, expecting value");
  }

  @Test
  void parserErrorsUseQemusWords() {
    assertThat(read("{\"a\":01}")).containsExactly("error: JSON parse error, stray '01'",
        "error: JSON parse error, expecting value");
    assertThat(read("{\"a\":1 \"b\":2}")).containsExactly("error: JSON parse error, expected separator in dict");
    assertThat(read("{\"a\":1,}")).containsExactly("error: JSON parse error, expecting value");
    assertThat(read("{1:2}")).containsExactly("error: JSON parse error, key is not a string in object");
    assertThat(read("[1,]")).containsExactly("error: JSON parse error, expecting value");
    assertThat(read("[1 2]")).containsExactly("error: JSON parse error, expected separator in list");
    assertThat(read("{\"a\" 1}")).containsExactly("error: JSON parse error, missing : in object pair");
    assertThat(read("{\"a\":1,\"a\":2}")).containsExactly("error: JSON parse error, duplicate key");
    assertThat(read("nul ")).containsExactly("error: JSON parse error, invalid keyword 'nul'");
  }

  @Test
  void stringsDecodeAsQemusParserDoes() {
    assertThat(read("\"\\ud83d\\ude00\"")).containsExactly("value: \"\\uD83D\\uDE00\"");
    assertThat(read("\"\\u0000\"")).containsExactly("value: \"\\u0000\"");
    assertThat(read("'single \"quoted\"'")).containsExactly("value: \"single \\\"quoted\\\"\"");
    assertThat(read("\"\\uffff\"")).containsExactly(
        "error: JSON parse error, \\uffff is not a valid Unicode character");
    assertThat(read("\"\\ud83f\\udfff\"")).containsExactly(
        "error: JSON parse error, \\ud83f\\udfff is not a valid Unicode character");
    assertThat(read("\"\\ud83dx\"")).containsExactly(
        "error: JSON parse error, \\ud83d is not a valid Unicode character");
    assertThat(read("\"\\u12\"")).containsExactly(
        "error: JSON parse error, \\u12\" is not a valid Unicode character");
    assertThat(read("\"a\\x\"")).containsExactly("error: JSON parse error, invalid escape sequence in string");
    // The escape is quoted as bytes, which QEMU's writer decodes: a lone continuation byte is U+FFFD.
    assertThat(read("\"\\uf\u00a9\"")).containsExactly(
        "error: JSON parse error, \\uf\ufffd\" is not a valid Unicode character");
    // Modified UTF-8: C0 80 is U+0000; a truncated sequence or an encoded surrogate is not valid.
    assertThat(read("\"\u00c0\u0080\"")).containsExactly("value: \"\\u0000\"");
    assertThat(read("\"\u00e2\u0082\"")).containsExactly("error: JSON parse error, invalid UTF-8 sequence in string");
    assertThat(read("\"\u00ed\u00a0\u0080\"")).containsExactly("error: JSON parse error, invalid UTF-8 sequence in string");
    assertThat(read("\"\u007f\u0001")).containsExactly("error: JSON parse error, stray '\"\u007f\u0001'");
  }

  @Test
  void numbersAndMemberOrderAreWrittenAsQemuWritesThem() {
    assertThat(read("{\"b\":1,\"a\":2,\"c\":[1,2.5,0.1,1e300,-0.0,1E-7,123456789012345678901234567890]}"))
        .containsExactly("value: {\"a\": 2, \"b\": 1, \"c\": [1, 2.5, 0.10000000000000001,"
            + " 1.0000000000000001e+300, -0, 9.9999999999999995e-08, 1.2345678901234568e+29]}");
    assertThat(read("[1e3,1e400,-1e400,-0,18446744073709551615,18446744073709551616]"))
        .containsExactly("value: [1000, inf, -inf, 0, 18446744073709551615, 1.8446744073709552e+19]");
  }

  @Test
  void nestingBeyond1024EndsTheMessageWithQemusErrorAndEachCloserThenStandsAlone() {
    String ok = "[".repeat(1024) + "]".repeat(1024);
    assertThat(read(ok)).singleElement().asString().startsWith("value: [[[");
    List<String> deep = read("[".repeat(1025) + "]".repeat(1025));
    assertThat(deep.get(0)).isEqualTo("error: JSON nesting depth limit exceeded");
    assertThat(deep.subList(1, deep.size())).hasSize(1025)
        .allMatch(e -> e.equals("error: JSON parse error, expecting value"));
  }

  @Test
  void tooMuchTokenTextGetsQemusSizeErrorAndReadingGoesOn() {
    String big = "[" + "1,".repeat(600) + "1]";
    List<String> out = read((big + "{}").getBytes(StandardCharsets.US_ASCII), 1024);
    assertThat(out.get(0)).isEqualTo("error: JSON token size limit exceeded");
    assertThat(out.get(out.size() - 1)).isEqualTo("value: {}");
  }

  @Test
  void doublesAreFormattedLikeCsPercentG17() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("/proxy/percent-g17.txt")) {
      List<String> lines = new String(in.readAllBytes(), StandardCharsets.US_ASCII).lines()
          .filter(l -> !l.startsWith("#")).toList();
      assertThat(lines).hasSizeGreaterThan(50);
      for (String line : lines) {
        String[] f = line.split(" ");
        assertThat(QemuJsonWriter.percentG17(Double.parseDouble(f[0]))).as(f[0]).isEqualTo(f[1]);
      }
    }
  }

  @Test
  void qdictOrderIsQemusForTheEnvelopes() {
    assertThat(QdictOrder.of(List.of("return", "id"))).containsExactly("return", "id");
    assertThat(QdictOrder.of(List.of("error", "id"))).containsExactly("id", "error");
    assertThat(QdictOrder.of(List.of("major", "minor", "micro"))).containsExactly("micro", "minor", "major");
    assertThat(QdictOrder.of(List.of("event", "timestamp", "data"))).containsExactly("timestamp", "event", "data");
  }
}
