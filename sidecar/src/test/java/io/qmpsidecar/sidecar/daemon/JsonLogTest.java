package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.MDC;

/**
 * The JSON log lines as a log shipper or {@code jq} reads them: each line one object with the
 * message as written (arguments in place), an ISO-8601 time, the level, the logger, the MDC and
 * the key/values; audit records as fields in their own file; journald priorities only on request.
 */
class JsonLogTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POLICY = """
      version: 1
      name: audit-test
      rules:
        - id: vnc
          effect: allow
          callers: ["api:ops"]
          commands: ["set_password"]
          reason: operators may set the VNC password
      default:
        effect: deny
        reason: not allowed
      """;

  @TempDir Path dir;
  private final LoggerContext context = new LoggerContext();

  JsonLogTest() {
    context.setMDCAdapter(MDC.getMDCAdapter());
  }

  @AfterEach
  void stop() {
    MDC.clear();
    context.stop();
  }

  /** A logger of the test's own context writing JSON lines (after priorities when {@code journal}) into {@code out}. */
  private Logger logger(String name, ByteArrayOutputStream out, boolean journal) {
    JsonLineEncoder json = new JsonLineEncoder();
    json.setContext(context);
    json.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setOutputStream(out);
    if (journal) {
      JournalPriorityEncoder prefixed = new JournalPriorityEncoder(json);
      prefixed.setContext(context);
      prefixed.start();
      appender.setEncoder(prefixed);
    } else {
      appender.setEncoder(json);
    }
    appender.start();
    Logger logger = context.getLogger(name);
    logger.setLevel(Level.DEBUG);
    logger.addAppender(appender);
    return logger;
  }

  private static List<JsonNode> lines(String text) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : text.split("\n")) {
      lines.add(JSON.readTree(line));
    }
    return lines;
  }

  @Test
  void aLineHasTheFormattedMessageTimeLevelLoggerMdcAndKeyValues() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Logger log = logger("io.qmpsidecar.operations", out, false);
    Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    MDC.put("op", "attach-5e0c9a1b-7f3d");
    MDC.put("vm", "src");
    log.atInfo().addKeyValue("driver", "e1000e").addKeyValue("slots", 3)
        .addKeyValue("arguments", JsonNodeFactory.instance.objectNode().put("id", "nic1"))
        .log("VM {}: {} free slots", "src", 3);
    MDC.clear();
    log.error("VM {} lost its QMP connection", "dst", new IllegalStateException("socket closed"));

    List<JsonNode> lines = lines(out.toString(StandardCharsets.UTF_8));
    assertThat(lines).hasSize(2);
    JsonNode info = lines.get(0);
    assertThat(info.path("message").asText()).isEqualTo("VM src: 3 free slots");
    assertThat(Duration.between(before, Instant.parse(info.path("time").asText())))
        .isBetween(Duration.ZERO, Duration.ofMinutes(1));
    assertThat(info.path("time").asText()).as("milliseconds, always three digits, in UTC")
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    assertThat(info.path("level").asText()).isEqualTo("INFO");
    assertThat(info.path("logger").asText()).isEqualTo("io.qmpsidecar.operations");
    assertThat(info.path("mdc")).isEqualTo(JSON.readTree("{\"op\":\"attach-5e0c9a1b-7f3d\",\"vm\":\"src\"}"));
    assertThat(info.path("kv")).isEqualTo(JSON.readTree(
        "{\"driver\":\"e1000e\",\"slots\":3,\"arguments\":{\"id\":\"nic1\"}}"));
    assertThat(info.has("error")).isFalse();
    JsonNode error = lines.get(1);
    assertThat(error.path("message").asText()).isEqualTo("VM dst lost its QMP connection");
    assertThat(error.path("level").asText()).isEqualTo("ERROR");
    assertThat(error.has("mdc")).as("no MDC, no member").isFalse();
    assertThat(error.path("error").asText()).startsWith("java.lang.IllegalStateException: socket closed")
        .contains("at io.qmpsidecar.sidecar.daemon.JsonLogTest");
  }

  @Test
  void underJournaldEachLineStartsWithItsSyslogPriority() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Logger log = logger("io.qmpsidecar", out, true);
    log.error("e");
    log.warn("w");
    log.info("i");
    log.debug("d");
    log.trace("t");

    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).extracting(l -> l.substring(0, 3)).containsExactly("<3>", "<4>", "<6>", "<7>");
    assertThat(JSON.readTree(lines.get(0).substring(3)).path("message").asText()).isEqualTo("e");
  }

  @Test
  void stderrIsTheJournalOnlyWhenJournalStreamNamesIt(@TempDir Path other) throws IOException {
    Path stderr = Files.createFile(dir.resolve("stderr"));
    Map<String, Object> id = Files.readAttributes(stderr, "unix:dev,ino");
    String stream = id.get("dev") + ":" + id.get("ino");

    assertThat(Logging.isJournal(stream, stderr)).isTrue();
    assertThat(Logging.isJournal(stream, Files.createFile(other.resolve("redirected")))).isFalse();
    assertThat(Logging.isJournal(null, stderr)).isFalse();
  }

  @Test
  void anAuditRecordIsOneLineOfFieldsInTheAuditFileWithSecretsRedacted() throws IOException {
    Path auditFile = dir.resolve("audit.json");
    LogConfigurator.apply(context, true, false, auditFile);
    PolicyEngine engine = new PolicyEngine(Policies.parse(POLICY, "policy.yaml", false),
        new AuditLog(context.getLogger(LogConfigurator.AUDIT_LOGGER)), Clock.systemUTC());
    MDC.put("vm", "vm1");
    MDC.put("op", "attach-1234");
    engine.decide(PolicyRequest.of(Caller.api("ops"), "set_password",
        JsonNodeFactory.instance.objectNode().put("protocol", "vnc").put("password", "hunter2")));
    MDC.clear();
    engine.decide(PolicyRequest.of(Caller.api("guest"), "quit", JsonNodeFactory.instance.objectNode()));
    context.stop();

    String text = Files.readString(auditFile);
    assertThat(text).doesNotContain("hunter2");
    List<JsonNode> lines = lines(text);
    assertThat(lines).hasSize(2);
    JsonNode allowed = lines.get(0);
    assertThat(allowed.path("logger").asText()).isEqualTo(LogConfigurator.AUDIT_LOGGER);
    assertThat(allowed.path("kv")).isEqualTo(JSON.readTree("""
        {"caller":"api:ops","command":"set_password","arguments":{"protocol":"vnc","password":"***"},
         "effect":"allow","rule":"vnc","reason":"operators may set the VNC password","vm":"vm1","opId":"attach-1234"}
        """));
    assertThat(allowed.path("message").asText()).isEqualTo("allow caller=api:ops command=set_password"
        + " arguments={\"protocol\":\"vnc\",\"password\":\"***\"} rule=vnc: operators may set the VNC password");
    JsonNode denied = lines.get(1).path("kv");
    assertThat(denied.path("effect").asText()).isEqualTo("deny");
    assertThat(denied.path("rule").asText()).isEqualTo("default");
    assertThat(denied.path("reason").asText()).isEqualTo("not allowed");
    assertThat(denied.has("opId")).isFalse();
  }
}
