package io.qmpsidecar.sidecar.proxy;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The running counters behind a {@link ProxyCallerStats}; updated from any thread. */
final class CallerStats {
  final AtomicInteger connected = new AtomicInteger();
  final AtomicLong connections = new AtomicLong();
  final AtomicLong commands = new AtomicLong();
  final AtomicLong denied = new AtomicLong();
  final AtomicLong eventsDelivered = new AtomicLong();
  final AtomicLong eventsDropped = new AtomicLong();
  volatile Instant lastDrop;

  ProxyCallerStats snapshot(String caller) {
    return new ProxyCallerStats(caller, connected.get(), connections.get(), commands.get(),
        denied.get(), eventsDelivered.get(), eventsDropped.get(), lastDrop);
  }
}
