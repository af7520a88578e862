package io.qmpsidecar.libvirt;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** Collects a client's events for a test and waits for one that matches, with a timeout. */
final class Events implements Consumer<LibvirtEvent> {
  private final LinkedBlockingQueue<LibvirtEvent> queue = new LinkedBlockingQueue<>(10_000);
  private final List<LibvirtEvent> seen = new ArrayList<>();

  @Override
  public void accept(LibvirtEvent e) {
    if (!queue.offer(e)) {
      throw new IllegalStateException("test event queue full");
    }
  }

  /** The first event (from now on, keeping the others) that matches, or an AssertionError. */
  <T extends LibvirtEvent> T await(Class<T> type, Predicate<T> match, Duration timeout) throws InterruptedException {
    synchronized (seen) {
      for (LibvirtEvent e : seen) {
        if (type.isInstance(e) && match.test(type.cast(e))) {
          seen.remove(e);
          return type.cast(e);
        }
      }
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      LibvirtEvent e = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
      if (e == null) {
        throw new AssertionError("no " + type.getSimpleName() + " matching within " + timeout + "; saw " + snapshot());
      }
      if (type.isInstance(e) && match.test(type.cast(e))) {
        return type.cast(e);
      }
      synchronized (seen) {
        seen.add(e);
      }
    }
  }

  /** Everything received so far and not consumed by {@link #await}. */
  List<LibvirtEvent> snapshot() {
    List<LibvirtEvent> out;
    synchronized (seen) {
      queue.drainTo(seen);
      out = List.copyOf(seen);
    }
    return out;
  }
}
