package io.qmpsidecar.sidecar.events;

import java.util.List;

/**
 * The answer of {@link EventStream#since(long)}.
 *
 * @param events the retained events after the given id, oldest first
 * @param complete false when events after the given id were already evicted from the log: the
 *     caller missed some and must re-read the state instead of relying on the replay
 */
public record EventReplay(List<SidecarEvent> events, boolean complete) {
  public EventReplay {
    events = List.copyOf(events);
  }
}
