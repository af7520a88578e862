package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.PolicyGate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.MDC;

/**
 * Runs every jq recipe of docs/operations.md (a {@code sh} block starting with {@code jq}) with
 * the {@code jq} binary on JSON log lines written by the daemon's encoder, through its policy
 * gate and audit sink, and expects exactly the {@code text} block that follows it, so the
 * recipes cannot drift from the log format.
 */
class LogRecipesTest {
  private static final Path DOC = Path.of("").toAbsolutePath().getParent().resolve("docs/operations.md");
  private static final Pattern RECIPE = Pattern.compile("```sh\\n(jq .*?)\\n```\\s*```text\\n(.*?)```", Pattern.DOTALL);
  private static final String OP = "attach-5e0c9a1b-7f3d";
  private static final String POLICY = """
      version: 1
      name: recipes
      rules:
        - id: local
          effect: allow
          callers: ["api:local"]
          commands: ["device_add"]
          reason: operators attach NICs
      default:
        effect: deny
        reason: only operators change VMs
      """;

  @TempDir Path dir;

  record Recipe(String command, String expected) {}

  @Test
  void everyJqRecipePrintsWhatTheDocumentShows() throws Exception {
    writeLog(dir.resolve("qmp-sidecar.log"));
    List<Recipe> recipes = new ArrayList<>();
    Matcher m = RECIPE.matcher(Files.readString(DOC));
    while (m.find()) {
      recipes.add(new Recipe(m.group(1), m.group(2)));
    }
    assertThat(recipes).as("jq recipes in %s", DOC).hasSizeGreaterThanOrEqualTo(4);
    for (Recipe recipe : recipes) {
      Path out = dir.resolve("out");
      Process jq = new ProcessBuilder("sh", "-c", recipe.command()).directory(dir.toFile())
          .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("err").toFile()))
          .start();
      assertThat(jq.waitFor(10, TimeUnit.SECONDS)).as("%s ends within 10 s", recipe.command()).isTrue();
      assertThat(jq.exitValue()).as("%s: %s", recipe.command(), Files.readString(dir.resolve("err"))).isZero();
      assertThat(Files.readString(out)).as(recipe.command()).isEqualTo(recipe.expected());
    }
  }

  /** An attach's lines as the daemon logs them, one allowed and one denied decision, a warning. */
  private static void writeLog(Path file) {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(MDC.getMDCAdapter());
    JsonLineEncoder json = new JsonLineEncoder();
    json.setContext(context);
    json.start();
    FileAppender<ILoggingEvent> appender = new FileAppender<>();
    appender.setContext(context);
    appender.setFile(file.toString());
    appender.setEncoder(json);
    appender.start();
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);
    Logger operations = context.getLogger("io.qmpsidecar.operations");
    PolicyGate gate = new PolicyGate(new PolicyEngine(Policies.parse(POLICY, "recipes.yaml", false),
        new AuditLog(context.getLogger(LogConfigurator.AUDIT_LOGGER)), Clock.systemUTC()), new SidecarMetrics());
    ObjectNode nic = JsonNodeFactory.instance.objectNode().put("driver", "e1000e").put("id", "nic1");
    try {
      MDC.put("vm", "src");
      MDC.put("op", OP);
      MDC.put("caller", "api:local");
      operations.info("{} {}", "attach.requested", nic);
      MDC.clear();
      gate.require(PolicyRequest.of(Caller.api("local"), "device_add", nic), "attach nic1 to VM src", "src", OP);
      MDC.put("vm", "src");
      MDC.put("op", OP);
      MDC.put("caller", "api:local");
      MDC.put("qmp", "14");
      operations.info("qmp {} returned in {}", "device_add", "3.2 ms");
      MDC.remove("qmp");
      operations.info("{} {}", "attach.verified", nic);
    } finally {
      MDC.clear();
    }
    gate.decide(PolicyRequest.of(Caller.api("guest"), "quit", JsonNodeFactory.instance.objectNode()));
    context.getLogger("io.qmpsidecar.sidecar.vm.VmHandle")
        .warn("VM {}: {} (retrying every {} ms at most)", "dst", "Connection refused", 2000);
    context.stop();
  }
}
