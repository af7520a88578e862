package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.impl.schema.SchemaValidator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * QEMU's QAPI schema as {@code query-qmp-schema} returns it, indexed, with a validator that
 * checks a command's arguments the way QEMU's input visitor would before it reaches QEMU. The
 * device properties of {@code device_add} are not in the schema and are not checked.
 */
public final class QmpSchema {
  private static final String DEVICE_ADD = "device_add";

  private final Map<String, JsonNode> entities;
  private final Set<String> commands;
  private final Set<String> events;

  private QmpSchema(Map<String, JsonNode> entities, Set<String> commands, Set<String> events) {
    this.entities = entities;
    this.commands = commands;
    this.events = events;
  }

  /** Indexes the {@code return} value of {@code query-qmp-schema}. */
  public static QmpSchema parse(JsonNode schemaInfoList) {
    Map<String, JsonNode> entities = new HashMap<>();
    Set<String> commands = new TreeSet<>();
    Set<String> events = new TreeSet<>();
    for (JsonNode info : schemaInfoList) {
      String name = info.path("name").asText();
      entities.put(name, info);
      switch (info.path("meta-type").asText()) {
        case "command" -> commands.add(name);
        case "event" -> events.add(name);
        default -> { }
      }
    }
    return new QmpSchema(Map.copyOf(entities), Set.copyOf(commands), Set.copyOf(events));
  }

  public boolean hasCommand(String name) {
    return commands.contains(name);
  }

  public Set<String> commands() {
    return commands;
  }

  public Set<String> events() {
    return events;
  }

  /** Whether QEMU allows this command with {@code exec-oob}. */
  public boolean allowsOob(String command) {
    JsonNode info = entities.get(command);
    return info != null && info.path("allow-oob").asBoolean(false);
  }

  /**
   * Checks a command against the schema: an unknown command, unknown or missing arguments, and
   * values of the wrong JSON type (e.g. the string {@code "true"} where a boolean is wanted).
   *
   * @param arguments the {@code arguments} object, or null for none
   * @return every violation found, empty when the command fits
   */
  public List<SchemaViolation> validate(String command, JsonNode arguments) {
    if (!commands.contains(command)) {
      return List.of(new SchemaViolation("execute", "QEMU has no command '" + command + "'"));
    }
    // device_add's schema lists only driver, bus and id; QEMU gives every other member to the
    // device as a property, typed by the device (device-list-properties), not by the schema.
    return new SchemaValidator(entities).validateCommand(entities.get(command), arguments,
        DEVICE_ADD.equals(command));
  }
}
