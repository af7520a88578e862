package io.qmpsidecar.sidecar.events;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The answer of {@link EventStream#since(long)}.
 *
 * @param events the retained events after {@code after}, oldest first
 * @param after the id the replay starts after: the one asked for, or this run's base when the id
 *     asked for is not one of this run's
 * @param gap present when the caller missed events: it must re-read the state instead of relying
 *     on the replay
 */
public record EventReplay(List<SidecarEvent> events, long after, Optional<Gap> gap) {
  public EventReplay {
    events = List.copyOf(events);
  }

  /** Whether the replay holds every event after the id asked for. */
  public boolean complete() {
    return gap.isEmpty();
  }

  /** Why events are missing. */
  public enum Reason {
    /** The id is from an earlier run of the daemon: that run's later events are gone. */
    RESTARTED,
    /** This run has not handed out the id: it comes from another daemon or a reset state directory. */
    UNKNOWN,
    /** This run's events after the id are no longer in the bounded log. */
    EVICTED
  }

  /**
   * Events the caller missed.
   *
   * @param reason why
   * @param lastEventId the id the caller asked to resume after
   * @param firstId this run's first id
   * @param started when this run started
   * @param oldestId the oldest id the log still holds (the next id when it is empty)
   * @param evicted whether events of this run that the replay should hold are no longer in the log
   */
  public record Gap(Reason reason, long lastEventId, long firstId, Instant started, long oldestId, boolean evicted) {}
}
