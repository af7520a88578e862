package io.qmpsidecar.sidecar.automation;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** Every event a daemon publishes from now on, kept for a test to wait for and look at. */
final class RecordedEvents implements AutoCloseable {
  private final List<SidecarEvent> events = new CopyOnWriteArrayList<>();
  private final Runnable cancel;

  RecordedEvents(Sidecar sidecar) {
    cancel = sidecar.events().subscribe(e -> true, 100_000, events::add)::cancel;
  }

  List<SidecarEvent> all() {
    return List.copyOf(events);
  }

  List<SidecarEvent> ofType(String type) {
    return events.stream().filter(e -> e.type().equals(type)).toList();
  }

  /** Waits until an event of {@code type} that {@code also} accepts arrives; returns the first. */
  SidecarEvent await(String type, Predicate<SidecarEvent> also) {
    Await.until("an event " + type, () -> events.stream().anyMatch(e -> e.type().equals(type) && also.test(e)));
    return events.stream().filter(e -> e.type().equals(type) && also.test(e)).findFirst().orElseThrow();
  }

  SidecarEvent await(String type) {
    return await(type, e -> true);
  }

  @Override
  public void close() {
    cancel.run();
  }
}
