package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Generated tests: no spelling of a request the default preset denies gets through. Each seed is
 * a denied request; variants change the command's case and its _/- spelling, escape characters
 * as JSON \\u sequences (which QEMU decodes to the same string), use single quotes (which QEMU's
 * lexer accepts), add unknown keys and nested objects, reorder keys, vary the case of argument
 * keys and URI schemes, and add whitespace. Every variant must be denied. The random generator
 * is seeded so a failure reproduces.
 */
class BypassTest {

  private static final int VARIANTS = 300;
  private static final List<String> CALLERS = List.of("api:ops", "proxy:virsh", "dpu", "rule:r1");

  /** Denied seeds: command and arguments as ordered key/value pairs (values are JSON). */
  static Stream<Seed> seeds() {
    return Stream.of(
        new Seed("human-monitor-command", "command-line", "\"info status\""),
        new Seed("x-exit-preconfig"),
        new Seed("x-debug-query-block-graph"),
        new Seed("quit"),
        new Seed("dump-guest-memory", "paging", "false", "protocol", "\"file:/tmp/x\""),
        new Seed("pmemsave", "val", "0", "size", "1", "filename", "\"/tmp/x\""),
        new Seed("memsave", "val", "0", "size", "1", "filename", "\"/tmp/x\""),
        new Seed("screendump", "filename", "\"/tmp/x\""),
        new Seed("object-add", "qom-type", "\"memory-backend-file\"", "id", "\"m\"",
            "mem-path", "\"/etc\""),
        new Seed("chardev-add", "id", "\"c\"", "backend", "{\"type\":\"file\"}"),
        new Seed("netdev_add", "type", "\"tap\"", "id", "\"n\""),
        new Seed("blockdev-add", "driver", "\"file\"", "node-name", "\"f\"",
            "filename", "\"/dev/sda\""),
        new Seed("blockdev-create", "job-id", "\"j\"", "options", "{\"driver\":\"file\"}"),
        new Seed("getfd", "fdname", "\"f\""),
        new Seed("add-fd", "fdset-id", "1"),
        new Seed("qom-set", "path", "\"/machine\"", "property", "\"p\"", "value", "1"),
        new Seed("migrate", "uri", "\"exec:sh\""),
        new Seed("migrate", "uri", "\"file:/tmp/vm\""),
        new Seed("migrate", "uri", "\"fd:mig\""),
        new Seed("migrate-incoming", "uri", "\"exec:sh\""),
        new Seed("migrate", "channels",
            "[{\"channel-type\":\"main\",\"addr\":{\"transport\":\"exec\",\"args\":[\"sh\"]}}]"),
        new Seed("migrate", "channels",
            "[{\"channel-type\":\"main\",\"addr\":{\"transport\":\"socket\",\"type\":\"fd\",\"str\":\"m\"}}]"),
        new Seed("device_add", "driver", "\"virtio-net-pci\"", "id", "\"n\"",
            "romfile", "\"/etc/shadow\""),
        new Seed("device_add", "driver", "\"e1000\"", "id", "\"n\"", "x-pcie-extcap-init", "true"),
        new Seed("device_add", "driver", "\"vfio-pci\"", "sysfsdev", "\"/sys/devices/x\""),
        new Seed("device_add", "driver", "\"loader\"", "file", "\"/etc/shadow\""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("seeds")
  void noSpellingOfADeniedRequestIsAllowed(Seed seed) {
    PolicyEngine engine =
        new PolicyEngine(Policies.preset("default"), AuditSink.NONE, Clock.systemUTC());
    Random random = new Random(seed.command().hashCode());
    Set<String> tried = new HashSet<>();
    for (int i = 0; i < VARIANTS; i++) {
      String text = seed.variant(random);
      tried.add(text);
      for (String caller : CALLERS) {
        Decision d = engine.decideText(new Caller(caller), text, Optional.empty());
        assertThat(d.effect()).as("%s sent %s -> %s", caller, text, d).isEqualTo(Effect.DENY);
      }
    }
    assertThat(tried).as("the generator must produce distinct spellings").hasSizeGreaterThan(VARIANTS / 2);
  }

  /** A denied request and the ways to spell it differently. */
  record Seed(String command, String... pairs) {

    @Override
    public String toString() {
      return command + " " + String.join(" ", pairs);
    }

    String variant(Random r) {
      List<String> members = new ArrayList<>();
      for (int i = 0; i < pairs.length; i += 2) {
        members.add(string(r, keyCase(r, pairs[i])) + ":" + value(r, pairs[i + 1]));
      }
      int extras = r.nextInt(3);
      for (int i = 0; i < extras; i++) {
        members.add(string(r, "extra" + i) + ":" + (r.nextBoolean() ? "{\"nested\":{\"romfile\":1}}" : "[1,\"x\"]"));
      }
      java.util.Collections.shuffle(members, r);
      String args = "{" + String.join("," + space(r), members) + "}";
      String execute = string(r, "execute") + ":" + space(r) + string(r, commandSpelling(r));
      return r.nextBoolean()
          ? "{" + execute + "," + string(r, "arguments") + ":" + args + "}"
          : "{" + space(r) + string(r, "arguments") + ":" + args + "," + execute + space(r) + "}";
    }

    private String commandSpelling(Random r) {
      StringBuilder b = new StringBuilder();
      for (char c : command.toCharArray()) {
        char out = c;
        if (c == '_' || c == '-') {
          out = r.nextInt(3) == 0 ? (c == '_' ? '-' : '_') : c;
        } else if (r.nextInt(4) == 0) {
          out = Character.toUpperCase(c);
        }
        b.append(out);
      }
      return b.toString();
    }

    /** QEMU's argument keys are case-sensitive; changing their case keeps deny rules in force. */
    private static String keyCase(Random r, String key) {
      return r.nextInt(5) == 0 ? key.toUpperCase(java.util.Locale.ROOT) : key;
    }

    private static String value(Random r, String json) {
      if (json.startsWith("\"exec:") || json.startsWith("\"file:") || json.startsWith("\"fd:")) {
        String inner = json.substring(1, json.length() - 1);
        String scheme = r.nextBoolean() ? inner : inner.substring(0, 2).toUpperCase(java.util.Locale.ROOT) + inner.substring(2);
        return string(r, (r.nextInt(4) == 0 ? " " : "") + scheme);
      }
      if (json.startsWith("\"") && json.indexOf('"', 1) == json.length() - 1) {
        return string(r, json.substring(1, json.length() - 1));
      }
      return json;
    }

    /** A JSON string literal with random \\u escapes and sometimes single quotes. */
    private static String string(Random r, String s) {
      char quote = r.nextInt(4) == 0 ? '\'' : '"';
      StringBuilder b = new StringBuilder().append(quote);
      for (char c : s.toCharArray()) {
        if (r.nextInt(5) == 0) {
          b.append(String.format("\\u%04x", (int) c));
        } else {
          b.append(c);
        }
      }
      return b.append(quote).toString();
    }

    private static String space(Random r) {
      return " ".repeat(r.nextInt(3));
    }
  }
}
