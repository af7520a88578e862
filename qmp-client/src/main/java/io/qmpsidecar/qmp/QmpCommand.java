package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;
import java.util.function.Function;

/**
 * A QMP command that knows how to read its own reply.
 *
 * @param name the QMP command name, e.g. {@code query-status}
 * @param arguments the {@code arguments} object, or null for none
 * @param reply turns the {@code return} value into {@code T}; throwing fails the command with a
 *     {@link QmpProtocolException}
 * @param observer told how the command ended (with its QMP id), or null
 */
public record QmpCommand<T>(String name, ObjectNode arguments, Function<JsonNode, T> reply,
    QmpCommandObserver observer) {

  public QmpCommand {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(reply, "reply");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("QMP command name is empty");
    }
  }

  public QmpCommand(String name, ObjectNode arguments, Function<JsonNode, T> reply) {
    this(name, arguments, reply, null);
  }

  /** The same command, reported to {@code observer} when it ends (replacing any earlier one). */
  public QmpCommand<T> observedBy(QmpCommandObserver observer) {
    return new QmpCommand<>(name, arguments, reply, observer);
  }

  /** A command whose future completes with QEMU's {@code return} value as is. */
  public static QmpCommand<JsonNode> raw(String name, ObjectNode arguments) {
    return new QmpCommand<>(name, arguments, Function.identity());
  }
}
