package io.qmpsidecar.policy;

import java.util.Objects;

/**
 * One problem found while loading a policy file, located so that an editor can jump to it.
 *
 * @param file the file name (or the preset's name) the text came from
 * @param line 1-based line, or 0 when the problem is not tied to a place (e.g. an unreadable file)
 * @param column 1-based column, or 0 when unknown
 * @param field the path of the field in the document, e.g. {@code rules[2].when}; empty for the
 *     document itself
 * @param message what is wrong and how to fix it
 */
public record PolicyError(String file, int line, int column, String field, String message) {

  public PolicyError {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(message, "message");
  }

  /** Formats as {@code file:line:column: field: message}, the form the CLI prints. */
  @Override
  public String toString() {
    String place = line > 0 ? file + ":" + line + ":" + column : file;
    return field.isEmpty() ? place + ": " + message : place + ": " + field + ": " + message;
  }
}
