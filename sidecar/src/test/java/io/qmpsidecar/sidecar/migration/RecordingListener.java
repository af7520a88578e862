package io.qmpsidecar.sidecar.migration;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every event it is sent, in order, for assertions on the sequence the DPU would see. */
final class RecordingListener implements MigrationListener {
  private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
  private final Map<CoordinationState, Runnable> onEntering = new ConcurrentHashMap<>();

  @Override
  public void onEvent(MigrationEvent event) {
    events.add(event);
    if (event instanceof MigrationEvent.Coordination c) {
      Runnable action = onEntering.remove(c.state());
      if (action != null) {
        action.run();
      }
    }
  }

  /** Runs {@code action} once, in the run's own step, when it next enters {@code state}. */
  void onEntering(CoordinationState state, Runnable action) {
    onEntering.put(state, action);
  }

  List<MigrationEvent> events() {
    return List.copyOf(events);
  }

  /** QEMU statuses one end reported, in order. */
  List<String> statuses(MigrationRole role) {
    return events.stream().filter(e -> e instanceof MigrationEvent.StatusChanged s && s.record().role() == role)
        .map(e -> ((MigrationEvent.StatusChanged) e).record().qemuStatus()).toList();
  }

  List<CoordinationState> states() {
    return events.stream().filter(e -> e instanceof MigrationEvent.Coordination)
        .map(e -> ((MigrationEvent.Coordination) e).state()).toList();
  }

  /** The steps of one function, in order. */
  List<String> steps(String device) {
    return events.stream().filter(e -> e instanceof MigrationEvent.FunctionStep f && f.device().equals(device))
        .map(e -> ((MigrationEvent.FunctionStep) e).step()).toList();
  }

  /** The type every event is published (and relayed to the DPU) as, in order. */
  List<String> relayMethods() {
    return events.stream().map(e -> PublishedMigrationEvent.of(e).type()).toList();
  }
}
