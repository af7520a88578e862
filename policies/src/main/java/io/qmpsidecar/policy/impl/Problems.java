package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.core.JsonLocation;
import io.qmpsidecar.policy.PolicyError;
import io.qmpsidecar.policy.PolicyLoadException;
import java.util.ArrayList;
import java.util.List;

/** Collects every error found in one policy document, each placed at its line and column. */
final class Problems {

  private final String file;
  private final List<PolicyError> errors = new ArrayList<>();
  private LocatedTree tree;

  Problems(String file) {
    this.file = file;
  }

  void attach(LocatedTree tree) {
    this.tree = tree;
  }

  void add(int line, int column, String field, String message) {
    errors.add(new PolicyError(file, Math.max(line, 0), Math.max(column, 0), field, message));
  }

  /** Records an error at the field {@code field}, located through the parsed tree. */
  void at(String field, String message) {
    JsonLocation at = tree == null ? null : tree.locate(field);
    add(at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(), field, message);
  }

  /** Every error recorded so far, in the order found. */
  List<PolicyError> errors() {
    return List.copyOf(errors);
  }

  boolean any() {
    return !errors.isEmpty();
  }

  /** Throws a {@link PolicyLoadException} with every error, sorted by position, if any. */
  void throwIfAny() {
    if (errors.isEmpty()) {
      return;
    }
    List<PolicyError> sorted = new ArrayList<>(errors);
    sorted.sort(
        (a, b) -> a.line() != b.line() ? Integer.compare(a.line(), b.line())
            : Integer.compare(a.column(), b.column()));
    throw new PolicyLoadException(sorted);
  }
}
