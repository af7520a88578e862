package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** One line of a request corpus under src/test/resources/corpus: see the files' headers. */
record CorpusLine(
    String file, int line, Caller caller, Effect effect, String ruleId, String request,
    Optional<HotplugFacts> facts) {

  private static final ObjectMapper JSON = new ObjectMapper();

  static List<CorpusLine> read(String name) {
    List<CorpusLine> lines = new ArrayList<>();
    String[] text = resource("/corpus/" + name).split("\n");
    for (int i = 0; i < text.length; i++) {
      String raw = text[i].strip();
      if (raw.isEmpty() || raw.startsWith("#")) {
        continue;
      }
      String[] cols = raw.split("\\s+", 4);
      String[] requestAndFacts = cols[3].split(" \\| ", 2);
      Optional<HotplugFacts> facts =
          requestAndFacts.length == 2 ? Optional.of(facts(requestAndFacts[1])) : Optional.empty();
      lines.add(new CorpusLine(name, i + 1, new Caller(cols[0]),
          Effect.valueOf(cols[1].toUpperCase(java.util.Locale.ROOT)), cols[2],
          requestAndFacts[0].strip(), facts));
    }
    return lines;
  }

  static HotplugFacts facts(String json) {
    try {
      JsonNode f = JSON.readTree(json);
      return new HotplugFacts(f.get("bdf").textValue(),
          Optional.ofNullable(f.get("physfn")).map(JsonNode::textValue),
          f.get("vendor").textValue(), f.get("device").textValue(), f.get("attached").intValue(),
          f.get("exclusive").booleanValue());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String resource(String path) {
    try (InputStream in = CorpusLine.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + path + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return file + ":" + line + " " + caller + " " + request;
  }
}
