package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.HostEndFixture;
import io.qmpsidecar.relay.conformance.Wire;
import io.qmpsidecar.relay.conformance.WireDpu;
import io.qmpsidecar.relay.conformance.WireHost;
import io.qmpsidecar.relay.conformance.WireLink;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.RpcDecodeException;
import io.qmpsidecar.relay.testing.ReferenceDpuEnd;
import io.qmpsidecar.relay.testing.ReferenceHostEnd;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the examples of docs/relay-protocol.md executable: every line is checked against the
 * document's own tables (methods, params, notifications, stages, outcomes, error codes and
 * their data), the {@code host-end} blocks are replayed in one session against this project's
 * host end (the test plays the DPU), and the {@code dpu-end} blocks against its DPU end (the test
 * plays the host). The annotation before each block says which; see the document's head.
 */
class RelayDocExamplesTest {

  private static final Path DOC = Path.of("").toAbsolutePath().getParent().resolve("docs/relay-protocol.md");
  private static final Pattern ANNOTATION = Pattern.compile("<!-- example: (host-end|dpu-end|shape)(?:; vary: ([^>]*))? -->");
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  /** One example line: who sends it and the JSON. */
  record Line(boolean fromHost, JsonObject json, String text) {}

  /** One example block. */
  record Block(String kind, Set<String> vary, List<Line> lines, int lineNumber) {}

  @TempDir Path dir;

  private static List<String> doc() throws IOException {
    return Files.readAllLines(DOC);
  }

  static List<Block> blocks() throws IOException {
    List<String> lines = doc();
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (!lines.get(i).equals("```json")) {
        continue;
      }
      Matcher m = ANNOTATION.matcher(i > 0 ? lines.get(i - 1) : "");
      assertThat(m.matches()).as("the example at line %d says how it is checked (<!-- example: ... -->)", i + 1)
          .isTrue();
      Set<String> vary = new LinkedHashSet<>();
      if (m.group(2) != null) {
        for (String v : m.group(2).split(",")) {
          vary.add(v.trim());
        }
      }
      List<Line> block = new ArrayList<>();
      int start = i + 1;
      for (i = start; !lines.get(i).equals("```"); i++) {
        String l = lines.get(i);
        boolean host = l.startsWith("host> ");
        assertThat(host || l.startsWith("dpu> ")).as("line %d starts with host> or dpu>: %s", i + 1, l).isTrue();
        String text = l.substring(l.indexOf('>') + 2);
        block.add(new Line(host, new JsonObject(text), text));
      }
      blocks.add(new Block(m.group(1), vary, block, start));
    }
    return blocks;
  }

  // ---- The document's tables ----

  /** The rows of the first table after the line that starts with {@code heading}, as cells. */
  private static List<List<String>> table(String heading, String firstHeaderCell) throws IOException {
    List<String> lines = doc();
    int i = lines.indexOf(heading);
    assertThat(i).as("the document has a section %s", heading).isNotNegative();
    while (!lines.get(i).trim().startsWith("| " + firstHeaderCell + " |")) {
      i++;
    }
    List<List<String>> rows = new ArrayList<>();
    for (i += 2; i < lines.size() && lines.get(i).trim().startsWith("|"); i++) {
      List<String> cells = new ArrayList<>();
      for (String c : lines.get(i).trim().split("\\|")) {
        cells.add(c.trim());
      }
      rows.add(cells.subList(1, cells.size()));
    }
    return rows;
  }

  /** The backticked names of a cell, leaving out what stands in parentheses (values, notes). */
  private static List<String> names(String cell) {
    String outside = cell.replaceAll("\\([^)]*\\)", "");
    List<String> out = new ArrayList<>();
    Matcher m = CODE.matcher(outside);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  private record Members(Set<String> all, Set<String> required) {}

  private static Map<String, Members> notificationTable() throws IOException {
    Map<String, Members> out = new HashMap<>();
    for (List<String> row : table("## Host to DPU notifications", "method")) {
      Set<String> all = new LinkedHashSet<>();
      Set<String> required = new LinkedHashSet<>();
      String outside = row.get(1).replaceAll("\\([^)]*\\)", "");
      Matcher m = Pattern.compile("`([^`]+)`(\\?)?").matcher(outside);
      while (m.find()) {
        all.add(m.group(1));
        if (m.group(2) == null) {
          required.add(m.group(1));
        }
      }
      for (String method : names(row.get(0))) {
        out.put(method, new Members(all, required));
      }
    }
    return out;
  }

  /** The data members of each error code: its row's, and {@code fix}, which any error may carry. */
  private static Map<Integer, Set<String>> errorTable() throws IOException {
    Map<Integer, Set<String>> out = new HashMap<>();
    for (List<String> row : table("## Error codes", "code")) {
      Set<String> members = new LinkedHashSet<>(names(row.size() > 2 ? row.get(2) : ""));
      members.add("fix");
      out.put(Integer.parseInt(row.get(0)), members);
    }
    return out;
  }

  private static Map<String, Members> requestTables() throws IOException {
    Map<String, Members> out = new HashMap<>();
    for (String method : List.of("device.attach", "device.detach", "device.list")) {
      Set<String> all = new LinkedHashSet<>();
      Set<String> required = new LinkedHashSet<>();
      for (List<String> row : table("### `" + method + "`", "param")) {
        String name = names(row.get(0)).get(0);
        all.add(name);
        if (row.get(1).equals("yes")) {
          required.add(name);
        }
      }
      out.put(method, new Members(all, required));
    }
    out.put("vm.list", new Members(Set.of(), Set.of()));
    out.put("state.snapshot", new Members(Set.of(), Set.of()));
    return out;
  }

  private static Set<String> column(String heading, String header) throws IOException {
    Set<String> out = new LinkedHashSet<>();
    for (List<String> row : table(heading, header)) {
      out.add(names(row.get(0)).get(0));
    }
    return out;
  }

  // ---- Checks ----

  @Test
  void everyExampleLineFollowsTheTablesOfTheDocument() throws IOException {
    Map<String, Members> notifications = notificationTable();
    Map<Integer, Set<String>> errors = errorTable();
    Map<String, Members> requests = requestTables();
    Set<String> stages = column("## Operations", "stage");
    Map<String, List<String>> outcomeDetails = new HashMap<>();
    for (List<String> row : table("## Operations", "outcome")) {
      outcomeDetails.put(names(row.get(0)).get(0), names(row.get(3)));
    }
    SoftAssertions soft = new SoftAssertions();
    int checked = 0;
    for (Block b : blocks()) {
      for (Line l : b.lines()) {
        String where = "line of the block at " + b.lineNumber() + ": " + l.text();
        try {
          JsonRpcCodec.decode(l.text());
        } catch (RpcDecodeException e) {
          soft.fail("%s does not decode: %s", where, e.getMessage());
        }
        JsonObject j = l.json();
        String method = j.getString("method");
        JsonObject params = j.getJsonObject("params", new JsonObject());
        if (method != null && j.containsKey("id")) {
          if (!method.equals("relay.hello")) {
            Members m = requests.get(method);
            soft.assertThat(m).as("%s: a documented DPU request", where).isNotNull();
            if (m != null) {
              soft.assertThat(m.all()).as(where).containsAll(params.fieldNames());
              soft.assertThat(params.fieldNames()).as(where).containsAll(m.required());
            }
          }
        } else if (method != null && !method.startsWith("relay.")) {
          Members m = notifications.get(method);
          soft.assertThat(m).as("%s: a documented notification", where).isNotNull();
          if (m != null) {
            Set<String> allowed = new LinkedHashSet<>(m.all());
            allowed.add("seq");
            soft.assertThat(allowed).as(where).containsAll(params.fieldNames());
            soft.assertThat(params.fieldNames()).as(where).contains("seq").containsAll(m.required());
          }
          if (method.equals("op.progress")) {
            soft.assertThat(stages).as(where).contains(params.getString("stage"));
          }
          if (method.equals("op.completed")) {
            JsonObject result = params.getJsonObject("result");
            String outcome = result.getString("outcome");
            soft.assertThat(outcomeDetails).as(where).containsKey(outcome);
            Set<String> allowed = new LinkedHashSet<>(List.of("vm", "deviceId", "outcome"));
            allowed.addAll(outcomeDetails.getOrDefault(outcome, List.of()));
            soft.assertThat(allowed).as(where).containsAll(result.fieldNames());
          }
          if (method.equals("op.failed")) {
            checkError(soft, errors, params.getJsonObject("error"), where);
          }
        } else if (j.containsKey("error")) {
          checkError(soft, errors, j.getJsonObject("error"), where);
        }
        checked++;
      }
    }
    soft.assertAll();
    assertThat(checked).as("example lines checked").isGreaterThan(50);
  }

  private static void checkError(SoftAssertions soft, Map<Integer, Set<String>> errors, JsonObject error, String where) {
    Integer code = error.getInteger("code");
    soft.assertThat(errors).as("%s: a documented error code", where).containsKey(code);
    soft.assertThat(error.getString("message")).as(where).isNotBlank();
    JsonObject data = error.getJsonObject("data", new JsonObject());
    if (errors.containsKey(code)) {
      soft.assertThat(errors.get(code)).as("%s: documented data members of %d", where, code)
          .containsAll(data.fieldNames());
    }
  }

  @Test
  void theHostEndExamplesReplayAgainstThisProjectsHost() throws IOException {
    List<Block> blocks = blocks().stream().filter(b -> b.kind().equals("host-end")).toList();
    Vertx vertx = Vertx.vertx();
    try (WireDpu dpu = new WireDpu(vertx); ReferenceHostEnd host = new ReferenceHostEnd(dir)) {
      host.start(HostEndFixture.Settings.forUrl(dpu.url("/relay")));
      WireLink link = dpu.awaitLink();
      JsonObject hello = link.nextMatching("relay.hello", m -> "relay.hello".equals(m.getString("method")));
      link.send(Wire.helloAnswer(hello.getValue("id"), "bf3-0", 0).encode());
      int replayed = 0;
      for (Block b : blocks) {
        for (Line l : b.lines()) {
          if (l.fromHost()) {
            compare(l, expectedFrom(link, l.json()), b);
          } else {
            link.send(l.text());
          }
          replayed++;
        }
      }
      link.expectSilence(Duration.ofMillis(300));
      assertThat(link.drain()).as("messages of the host the examples do not show").isEmpty();
      assertThat(replayed).isGreaterThan(30);
    } finally {
      Wire.until("Vert.x closed", Duration.ofSeconds(20), () -> vertx.close().isComplete());
    }
  }

  @Test
  void theDpuEndExamplesReplayAgainstThisProjectsDpu() throws IOException {
    List<Block> blocks = blocks().stream().filter(b -> b.kind().equals("dpu-end")).toList();
    Vertx vertx = Vertx.vertx();
    try (ReferenceDpuEnd dpu = new ReferenceDpuEnd("bf3-0"); WireHost wire = new WireHost(vertx)) {
      URI url = dpu.start(io.qmpsidecar.relay.conformance.DpuEndFixture.Settings.defaults());
      for (Block b : blocks) {
        WireLink link = wire.connect(url);
        for (Line l : b.lines()) {
          if (l.fromHost()) {
            link.send(l.text());
          } else {
            compare(l, expectedFrom(link, l.json()), b);
          }
        }
        link.close();
      }
      assertThat(blocks).hasSizeGreaterThanOrEqualTo(2);
    } finally {
      Wire.until("Vert.x closed", Duration.ofSeconds(20), () -> vertx.close().isComplete());
    }
  }

  /** The received message an example line stands for: the answer with its id, or the notification. */
  private static JsonObject expectedFrom(WireLink link, JsonObject expected) {
    if (!expected.containsKey("method")) {
      return link.answerTo(expected.getValue("id"));
    }
    String method = expected.getString("method");
    JsonObject p = expected.getJsonObject("params", new JsonObject());
    return link.nextMatching(method + " " + p.getString("opId", p.getString("device", "")), m ->
        method.equals(m.getString("method")) && same(p, m.getJsonObject("params", new JsonObject()), "opId")
            && same(p, m.getJsonObject("params", new JsonObject()), "device"));
  }

  private static boolean same(JsonObject expected, JsonObject actual, String key) {
    return !expected.containsKey(key) || String.valueOf(expected.getValue(key)).equals(String.valueOf(actual.getValue(key)));
  }

  private static void compare(Line l, JsonObject actual, Block b) {
    List<String> differences = new ArrayList<>();
    Set<String> vary = new LinkedHashSet<>(b.vary());
    if (l.json().containsKey("method")) {
      vary.add("params.seq");
    }
    diff("", l.json(), actual, vary, differences);
    assertThat(differences).as("the example of the block at line %d: %s%n  got: %s", b.lineNumber(), l.text(),
        actual.encode()).isEmpty();
  }

  private static void diff(String path, Object expected, Object actual, Set<String> vary, List<String> out) {
    String leaf = path.contains(".") ? path.substring(path.lastIndexOf('.') + 1) : path;
    if (vary.contains(path) || vary.contains(leaf)) {
      if (actual == null) {
        out.add(path + " is missing");
      }
      return;
    }
    if (expected instanceof JsonObject e && actual instanceof JsonObject a) {
      for (String k : e.fieldNames()) {
        if (!a.containsKey(k)) {
          out.add(path + "." + k + " is missing");
        } else {
          diff(path.isEmpty() ? k : path + "." + k, e.getValue(k), a.getValue(k), vary, out);
        }
      }
      for (String k : a.fieldNames()) {
        if (!e.containsKey(k)) {
          out.add(path + "." + k + " is not in the example");
        }
      }
    } else if (expected instanceof JsonArray e && actual instanceof JsonArray a) {
      if (e.size() != a.size()) {
        out.add(path + " has " + a.size() + " elements, the example " + e.size());
        return;
      }
      for (int i = 0; i < e.size(); i++) {
        diff(path + "[" + i + "]", e.getValue(i), a.getValue(i), vary, out);
      }
    } else if (expected instanceof String e && e.endsWith("...") && actual instanceof String a) {
      if (!a.startsWith(e.substring(0, e.length() - 3))) {
        out.add(path + " is '" + a + "', not '" + e + "'");
      }
    } else if (expected instanceof Number e && actual instanceof Number a) {
      if (e.longValue() != a.longValue() || e.doubleValue() != a.doubleValue()) {
        out.add(path + " is " + a + ", not " + e);
      }
    } else if (expected == null ? actual != null : !expected.equals(actual)) {
      out.add(path + " is " + actual + ", not " + expected);
    }
  }
}
