package io.qmpsidecar.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * /etc/qmp-sidecar/host.yaml, the example configuration the package installs, shows every key
 * of docs/configuration.md's table and nothing else, each with its documented default where
 * there is one. Below its header, its commented-out keys are the lines starting with "#" and no
 * space, or "#" and two or more (nested); "# text" is prose.
 */
class ExampleConfigTest {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path EXAMPLE = ROOT.resolve("packaging/src/tree/etc/qmp-sidecar/host.yaml");
  private static final Pattern KEY_ROW = Pattern.compile("^\\| (`[^|]+`) \\| ([^|]+) \\|");
  private static final Pattern IN_BACKTICKS = Pattern.compile("`([^`]+)`");
  /** Set in the example although the configuration has no default for it. */
  private static final Map<String, String> SET_IN_EXAMPLE = Map.of("vmSocketDir", "/run/qemu");

  @Test
  void theExampleShowsEveryDocumentedKeyWithItsDefault() throws IOException {
    Map<String, String> documented = documentedKeys();
    assertThat(documented).as("keys read from docs/configuration.md").containsKeys("vms", "api.tls.key", "log.format")
        .hasSizeGreaterThan(20);
    Map<String, JsonNode> example = flatten(new ObjectMapper(new YAMLFactory()).readTree(uncommented()), "");
    example.remove("version");
    assertThat(example.keySet()).as("keys of the example with every key uncommented")
        .containsExactlyInAnyOrderElementsOf(documented.keySet());
    documented.forEach((key, byDefault) -> {
      String shown = SET_IN_EXAMPLE.getOrDefault(key, byDefault);
      if (shown != null) {
        assertThat(example.get(key).asText()).as("the example's %s", key).isEqualTo(shown);
      }
    });
  }

  @Test
  void asShippedOnlyVersionAndVmSocketDirAreSet() throws IOException {
    JsonNode shipped = new ObjectMapper(new YAMLFactory()).readTree(EXAMPLE.toFile());
    assertThat(flatten(shipped, "").keySet()).containsExactlyInAnyOrder("version", "vmSocketDir");
  }

  /** Key to documented default (null for "none"), from the table's first two columns. */
  private static Map<String, String> documentedKeys() throws IOException {
    Map<String, String> keys = new LinkedHashMap<>();
    for (String line : Files.readAllLines(ROOT.resolve("docs/configuration.md"))) {
      Matcher row = KEY_ROW.matcher(line);
      if (row.find()) {
        Matcher byDefault = IN_BACKTICKS.matcher(row.group(2));
        String value = byDefault.find() ? byDefault.group(1) : null;
        Matcher key = IN_BACKTICKS.matcher(row.group(1));
        while (key.find()) {
          keys.put(key.group(1), value);
        }
      }
    }
    return keys;
  }

  /** The example with its keys uncommented, below the header (the comment before the first key). */
  private static String uncommented() throws IOException {
    List<String> lines = Files.readAllLines(EXAMPLE);
    int body = 0;
    while (lines.get(body).startsWith("#")) {
      body++;
    }
    return lines.subList(body, lines.size()).stream()
        .map(l -> l.matches("#(?! ).*|#  .*") ? l.substring(1) : l)
        .collect(Collectors.joining("\n"));
  }

  private static Map<String, JsonNode> flatten(JsonNode node, String prefix) {
    Map<String, JsonNode> flat = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isObject()) {
        flat.putAll(flatten(e.getValue(), prefix + e.getKey() + "."));
      } else {
        flat.put(prefix + e.getKey(), e.getValue());
      }
    }
    return flat;
  }
}
