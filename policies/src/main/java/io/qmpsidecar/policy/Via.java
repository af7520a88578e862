package io.qmpsidecar.policy;

import java.util.Locale;

/**
 * How a request reaches the engine: the path inside the sidecar it came through. The entry point
 * sets it, never the caller. A rule with {@code via: [...]} matches only requests that came one of
 * those ways; a rule without it matches every way.
 */
public enum Via {
  /**
   * A QMP command as a client wrote it: the QMP proxy, the API's {@code /qmp} route, the CLI's
   * {@code exec}. The default for every request that does not say otherwise.
   */
  PASSTHROUGH,
  /** The {@code device_add} the attach flow built from a validated attach request. */
  ATTACH,
  /** The {@code device_del} the detach flow sends for a detach request. */
  DETACH,
  /** A command of the migration flow (the {@code migrate} of a coordinated migration). */
  MIGRATE,
  /** A DPU relay method, decided as the QMP command it stands for. */
  RELAY,
  /** The command of an automation rule, run in response to an event. */
  AUTOMATION,
  /**
   * The {@code migrate} (with its main and cpr channels) of a live update of QEMU under a running
   * VM (docs/live-update.md).
   */
  LIVE_UPDATE;

  /** The name used in policy files: the constant in lower case, with '-' for '_' ({@code live-update}). */
  public String id() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * The constant a policy file names.
   *
   * @throws IllegalArgumentException naming the accepted names
   */
  public static Via of(String id) {
    for (Via via : values()) {
      if (via.id().equals(id)) {
        return via;
      }
    }
    throw new IllegalArgumentException("unknown way '" + id + "': use one of passthrough, attach,"
        + " detach, migrate, relay, automation, live-update");
  }
}
