package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** One line of a request corpus under src/test/resources/corpus: see the files' headers. */
record CorpusLine(
    String file, int line, Caller caller, Effect effect, String ruleId, String request,
    RequestContext context) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The value sets the corpora are decided with (the configuration of a test host). */
  static final ValueSets VALUE_SETS = ValueSets.of(Map.of(
      "migration.destinations", List.of("tcp:10.0.0.2:4444", "tcp:[fd00::2]:4444"),
      "hotplug.allowedPfs", List.of("0000:03:00.0"),
      "hotplug.mdevTypes", List.of("mtty-2"),
      "hostprep.variantDrivers", List.of("mlx5_vfio_pci")));

  static List<CorpusLine> read(String name) {
    List<CorpusLine> lines = new ArrayList<>();
    String[] text = resource("/corpus/" + name).split("\n");
    for (int i = 0; i < text.length; i++) {
      String raw = text[i].strip();
      if (raw.isEmpty() || raw.startsWith("#")) {
        continue;
      }
      String[] cols = raw.split("\\s+", 4);
      String[] requestAndContext = cols[3].split(" \\| ", 2);
      RequestContext context = requestAndContext.length == 2 ? context(requestAndContext[1])
          : RequestContext.PASSTHROUGH;
      lines.add(new CorpusLine(name, i + 1, new Caller(cols[0]),
          Effect.valueOf(cols[1].toUpperCase(java.util.Locale.ROOT)), cols[2],
          requestAndContext[0].strip(), context));
    }
    return lines;
  }

  /** {@code {"via": "attach", "hotplug": {...}, "facts": {"attached": ["id", ...]}}}. */
  static RequestContext context(String json) {
    try {
      JsonNode c = JSON.readTree(json);
      RequestContext context = RequestContext.of(Via.of(c.path("via").asText("passthrough")));
      if (c.has("hotplug")) {
        context = context.withHotplug(facts(c.get("hotplug")));
      }
      for (var it = c.path("facts").fields(); it.hasNext(); ) {
        var fact = it.next();
        Set<String> values = new HashSet<>();
        fact.getValue().forEach(v -> values.add(v.textValue()));
        context = context.withFacts(fact.getKey(), values);
      }
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Hotplug facts: {@code bdf}, {@code physfn} (absent for a PF), {@code vendor}, {@code device},
   * {@code attached}, {@code exclusive}, optionally {@code driver} (the host driver to bind) or,
   * for an mdev, {@code mdev: {uuid, type, parent}} instead of the PCI fields.
   */
  static HotplugFacts facts(JsonNode f) {
    if (f.has("mdev")) {
      JsonNode m = f.get("mdev");
      return HotplugFacts.ofMdev(new HotplugFacts.Mdev(m.get("uuid").textValue(),
          m.get("type").textValue(), m.get("parent").textValue()), f.get("attached").intValue(),
          f.get("exclusive").booleanValue());
    }
    HotplugFacts facts = new HotplugFacts(f.get("bdf").textValue(),
        Optional.ofNullable(f.get("physfn")).map(JsonNode::textValue),
        f.get("vendor").textValue(), f.get("device").textValue(), f.get("attached").intValue(),
        f.get("exclusive").booleanValue());
    return f.has("driver") ? facts.withHostDriver(f.get("driver").textValue()) : facts;
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
