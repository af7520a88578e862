package io.qmpsidecar.sidecar.hotplug;

import java.time.Duration;

/**
 * Time limits of the hotplug flows; each default is the {@code DEFAULT_*} constant named here.
 *
 * @param queryTimeout each read-only QMP query ({@link #DEFAULT_QUERY_TIMEOUT})
 * @param attachTimeout {@code device_add}, which can take seconds for some devices
 *     ({@link #DEFAULT_ATTACH_TIMEOUT})
 * @param detachWait how long a detach waits for {@code DEVICE_DELETED} before answering
 *     {@code pending} ({@link #DEFAULT_DETACH_WAIT})
 * @param pendingWatch how long a pending detach is watched before {@code detach.pending-expired}
 *     ({@link #DEFAULT_PENDING_WATCH}); a reconcile completes it later if the device goes
 * @param unplugRetryWindow how long to wait before repeating {@code device_del} after QEMU
 *     answered "already in the process of unplug" or "guest is busy" (QEMU's window is 5 s;
 *     {@link #DEFAULT_UNPLUG_RETRY_WINDOW})
 * @param unplugRetries how many times {@code device_del} is repeated after such answers
 *     ({@link #DEFAULT_UNPLUG_RETRIES})
 * @param releaseWait how long QEMU may still hold a removed VFIO function's device nodes before the
 *     removal fails with {@code release-timeout} ({@link ReleaseGate}; {@link #DEFAULT_RELEASE_WAIT})
 */
public record HotplugOptions(Duration queryTimeout, Duration attachTimeout, Duration detachWait,
    Duration pendingWatch, Duration unplugRetryWindow, int unplugRetries, Duration releaseWait) {

  public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_ATTACH_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_DETACH_WAIT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_PENDING_WATCH = Duration.ofMinutes(10);
  public static final Duration DEFAULT_UNPLUG_RETRY_WINDOW = Duration.ofMillis(5500);
  public static final int DEFAULT_UNPLUG_RETRIES = 2;
  public static final Duration DEFAULT_RELEASE_WAIT = Duration.ofSeconds(30);

  public HotplugOptions {
    positive(queryTimeout, "queryTimeout");
    positive(attachTimeout, "attachTimeout");
    positive(detachWait, "detachWait");
    positive(pendingWatch, "pendingWatch");
    positive(unplugRetryWindow, "unplugRetryWindow");
    positive(releaseWait, "releaseWait");
    if (unplugRetries < 0) {
      throw new IllegalArgumentException("unplugRetries must be >= 0, got " + unplugRetries);
    }
  }

  public static HotplugOptions defaults() {
    return new HotplugOptions(DEFAULT_QUERY_TIMEOUT, DEFAULT_ATTACH_TIMEOUT, DEFAULT_DETACH_WAIT,
        DEFAULT_PENDING_WATCH, DEFAULT_UNPLUG_RETRY_WINDOW, DEFAULT_UNPLUG_RETRIES, DEFAULT_RELEASE_WAIT);
  }

  public HotplugOptions withQueryTimeout(Duration d) {
    return new HotplugOptions(d, attachTimeout, detachWait, pendingWatch, unplugRetryWindow, unplugRetries,
        releaseWait);
  }

  public HotplugOptions withDetachWait(Duration d) {
    return new HotplugOptions(queryTimeout, attachTimeout, d, pendingWatch, unplugRetryWindow, unplugRetries,
        releaseWait);
  }

  public HotplugOptions withPendingWatch(Duration d) {
    return new HotplugOptions(queryTimeout, attachTimeout, detachWait, d, unplugRetryWindow, unplugRetries, releaseWait);
  }

  public HotplugOptions withUnplugRetryWindow(Duration d) {
    return new HotplugOptions(queryTimeout, attachTimeout, detachWait, pendingWatch, d, unplugRetries, releaseWait);
  }

  public HotplugOptions withReleaseWait(Duration d) {
    return new HotplugOptions(queryTimeout, attachTimeout, detachWait, pendingWatch, unplugRetryWindow, unplugRetries, d);
  }

  private static void positive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
    }
  }
}
