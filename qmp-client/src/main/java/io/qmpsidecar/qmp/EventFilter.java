package io.qmpsidecar.qmp;

import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which events a subscriber gets: by name (an empty set means every name), then by an optional
 * predicate over the whole event.
 */
public record EventFilter(Set<String> names, Predicate<QmpEvent> predicate) {

  public EventFilter {
    names = Set.copyOf(names);
    Objects.requireNonNull(predicate, "predicate");
  }

  public static EventFilter all() {
    return new EventFilter(Set.of(), e -> true);
  }

  public static EventFilter names(String... names) {
    return new EventFilter(Set.of(names), e -> true);
  }

  /** This filter, further narrowed by {@code more}. */
  public EventFilter and(Predicate<QmpEvent> more) {
    return new EventFilter(names, predicate.and(more));
  }

  public boolean test(QmpEvent event) {
    return (names.isEmpty() || names.contains(event.name())) && predicate.test(event);
  }
}
