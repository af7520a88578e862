package io.qmpsidecar.sidecar.migration;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every event it is sent, in order, for assertions on the sequence the DPU would see. */
final class RecordingListener implements MigrationListener {
  private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();

  @Override
  public void onEvent(MigrationEvent event) {
    events.add(event);
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
