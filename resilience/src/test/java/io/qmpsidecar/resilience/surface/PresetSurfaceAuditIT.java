package io.qmpsidecar.resilience.surface;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Classification;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.Via;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.resilience.Figures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;

/**
 * The schema-driven audit of the shipped presets (docs/policies.md, "Classification"), on every
 * QEMU of the matrix: every command of {@code query-qmp-schema}, every device type of
 * {@code qom-list-types}, and every property ({@code device-list-properties}, as the
 * administrator) of each type a preset lets a caller attach must be listed in
 * policies/classification/qemu-surface.txt, and each preset must decide it for every caller class
 * exactly as listed: allowed with a closed schema, or denied; never open. A QEMU that brings
 * something new fails here until someone classifies it. The introspection the presets allow is
 * run on this QEMU for every type they allow it for, and QEMU must survive each.
 */
class PresetSurfaceAuditIT {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Set<String> DEVICE_ADD_ARGUMENTS = Set.of("driver", "id", "bus");
  private static final Map<String, Caller> CALLERS = new LinkedHashMap<>();

  static {
    CALLERS.put("api", Caller.api("audit"));
    CALLERS.put("proxy", Caller.proxy("audit"));
    CALLERS.put("rule", Caller.rule("audit"));
    CALLERS.put("dpu", Caller.dpu());
  }

  @TempDir Path dir;

  @QemuTest
  void thePresetsClassifyEveryCommandDeviceAndPropertyOfThisQemu(QemuBinary binary) throws Exception {
    SurfaceClassification file = SurfaceClassification.read(ROOT.resolve(SurfaceClassification.FILE),
        Policies.PRESETS);
    Map<String, Policy> presets = new LinkedHashMap<>();
    Policies.PRESETS.forEach(p -> presets.put(p, Policies.preset(p)));
    int version = binary.major() * 100 + Integer.parseInt(binary.version().split("\\.")[1]);
    List<String> problems = new ArrayList<>();
    long checked = 0;
    try (SurfaceQemu qemu = SurfaceQemu.start(binary, dir, "audit"); QmpLine admin = qemu.monitor()) {
      List<String> commands = new ArrayList<>();
      for (JsonNode entity : ok(admin, "{\"execute\":\"query-qmp-schema\"}")) {
        if (entity.path("meta-type").asText().equals("command")) {
          commands.add(entity.path("name").asText());
        }
      }
      List<String> devices = names(ok(admin,
          "{\"execute\":\"qom-list-types\",\"arguments\":{\"implements\":\"device\",\"abstract\":false}}"));
      List<String> types = names(ok(admin,
          "{\"execute\":\"qom-list-types\",\"arguments\":{\"abstract\":true}}"));
      assertThat(commands).as("commands of %s", binary).hasSizeGreaterThan(150).contains("device_add");
      assertThat(devices).as("device types of %s", binary).hasSizeGreaterThan(300).contains("vfio-pci");

      for (String command : commands) {
        checked++;
        SurfaceClassification.Line line = file.get("command", command);
        if (line == null) {
          problems.add("command " + command + " is not classified: add a line to " + SurfaceClassification.FILE);
          continue;
        }
        presets.forEach((name, policy) -> {
          Set<String> allowed = allowed(policy, command, Via.PASSTHROUGH, null, problems, name);
          if (!allowed.equals(line.byPreset().get(name))) {
            problems.add("command " + command + ": preset " + name + " allows " + show(allowed)
                + ", the classification says " + show(line.byPreset().get(name)));
          }
        });
      }

      Set<String> attachable = new TreeSet<>();
      for (String device : devices) {
        checked++;
        SurfaceClassification.Line line = file.get("device", device);
        if (line == null) {
          problems.add("device " + device + " is not classified: add a line to " + SurfaceClassification.FILE);
          continue;
        }
        presets.forEach((name, policy) -> {
          Set<String> allowed = allowed(policy, "device_add", Via.ATTACH, device, problems, name);
          if (!allowed.isEmpty()) {
            attachable.add(device);
          }
          if (!allowed.equals(line.byPreset().get(name))) {
            problems.add("device " + device + ": preset " + name + " lets " + show(allowed)
                + " attach it, the classification says " + show(line.byPreset().get(name)));
          }
        });
      }

      for (String device : attachable) {
        Set<String> properties = new TreeSet<>();
        ok(admin, "{\"execute\":\"device-list-properties\",\"arguments\":{\"typename\":\"" + device + "\"}}")
            .forEach(p -> properties.add(p.path("name").asText()));
        for (String property : properties) {
          checked++;
          SurfaceClassification.Line line = file.get("property", device + "." + property);
          if (line == null) {
            problems.add("property " + device + "." + property + " is not classified: add a line to "
                + SurfaceClassification.FILE);
            continue;
          }
          presets.forEach((name, policy) -> {
            Set<String> expected = line.byPreset().get(name);
            boolean listed = schemaNames(policy, device).contains(property);
            if (listed != expected.contains("attach")) {
              problems.add("property " + device + "." + property + ": preset " + name
                  + (listed ? " lists it" : " does not list it") + ", the classification says "
                  + show(expected));
            }
          });
        }
        presets.forEach((name, policy) -> {
          for (String member : schemaNames(policy, device)) {
            SurfaceClassification.Line line = file.get("property", device + "." + member);
            if (DEVICE_ADD_ARGUMENTS.contains(member) || properties.contains(member)
                || line != null && line.since() > version) {
              continue;
            }
            problems.add("preset " + name + " lets " + device + " take '" + member + "', which "
                + binary + " does not have" + (line == null ? " and the classification does not list"
                : " although the classification says " + line.why()));
          }
        });
      }

      for (String command : List.of("device-list-properties", "qom-list-properties")) {
        for (String type : command.startsWith("device") ? devices : types) {
          if (presets.values().stream().noneMatch(p -> acceptsTypename(p, command, type))) {
            continue;
          }
          checked++;
          JsonNode reply = admin.call("{\"execute\":\"" + command + "\",\"arguments\":{\"typename\":\""
              + type + "\"}}", WAIT);
          JsonNode status = admin.call("{\"execute\":\"query-status\"}", WAIT);
          if (!reply.has("return") || !status.has("return")) {
            problems.add(command + " " + type + ", which a preset allows, answered " + reply
                + " and then query-status " + status);
          }
        }
      }
      assertThat(qemu.isAlive()).as("%s survived the audit", binary).isTrue();
    } finally {
      Figures.record(Figures.Section.SECURITY, "presets classify every command, device, property ("
          + binary + ")", checked, checked - problems.size());
    }
    assertThat(problems).as("differences between %s, the presets and %s", binary,
        SurfaceClassification.FILE).isEmpty();
  }

  /** The caller classes the preset allows the command (for device_add: of that driver) to. */
  private static Set<String> allowed(Policy policy, String command, Via via, String driver,
      List<String> problems, String preset) {
    Set<String> out = new TreeSet<>();
    CALLERS.forEach((cls, caller) -> {
      Classification c = policy.classify(caller, command, via);
      if (c.kind() == Classification.Kind.OPEN) {
        problems.add("preset " + preset + " allows " + command + " to " + cls
            + " without a closed schema (rules " + c.openRuleIds() + ")");
      }
      boolean allows = driver == null ? c.kind() == Classification.Kind.CLOSED
          : c.closed().stream().anyMatch(f -> f.accepts("driver", TextNode.valueOf(driver)));
      if (allows) {
        out.add(cls);
      }
    });
    return out;
  }

  /** Every argument name an attach schema of the preset lists for {@code driver}. */
  private static Set<String> schemaNames(Policy policy, String driver) {
    Set<String> names = new TreeSet<>();
    for (Caller caller : CALLERS.values()) {
      for (Classification.ClosedForm form : policy.classify(caller, "device_add", Via.ATTACH).closed()) {
        if (form.accepts("driver", TextNode.valueOf(driver))) {
          names.addAll(form.argumentNames());
        }
      }
    }
    return names;
  }

  private static boolean acceptsTypename(Policy policy, String command, String type) {
    for (Caller caller : CALLERS.values()) {
      for (Classification.ClosedForm form : policy.classify(caller, command, Via.PASSTHROUGH).closed()) {
        if (form.accepts("typename", TextNode.valueOf(type))) {
          return true;
        }
      }
    }
    return false;
  }

  private static JsonNode ok(QmpLine admin, String command) {
    JsonNode reply = admin.call(command, WAIT);
    assertThat(reply.has("return")).as("%s answered %s", command, reply).isTrue();
    return reply.get("return");
  }

  private static List<String> names(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(t -> out.add(t.path("name").asText()));
    return out;
  }

  private static String show(Set<String> classes) {
    return classes.isEmpty() ? "nobody" : String.join(",", classes);
  }
}
