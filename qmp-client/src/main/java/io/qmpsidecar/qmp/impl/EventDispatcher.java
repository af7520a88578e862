package io.qmpsidecar.qmp.impl;

import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Fans events out to subscriptions (each with its own bounded queue) and to internal one-shot
 * watchers (used to complete {@code device_del}). Confined to the connection's context.
 */
final class EventDispatcher {
  private final Context context;
  private final List<SubscriptionImpl> subscriptions = new ArrayList<>();
  private final List<Watcher> watchers = new ArrayList<>();

  /** An internal interest in one event; {@code onClose} runs if the session ends first. */
  static final class Watcher {
    final Predicate<QmpEvent> match;
    final Runnable onMatch;
    final Runnable onClose;

    Watcher(Predicate<QmpEvent> match, Runnable onMatch, Runnable onClose) {
      this.match = match;
      this.onMatch = onMatch;
      this.onClose = onClose;
    }
  }

  EventDispatcher(Context context) {
    this.context = context;
  }

  QmpSubscription subscribe(EventFilter filter, int capacity, QmpEventListener listener) {
    SubscriptionImpl sub = new SubscriptionImpl(context, filter, capacity, listener, this);
    if (context == Vertx.currentContext()) {
      subscriptions.add(sub);
    } else {
      context.runOnContext(v -> subscriptions.add(sub));
    }
    return sub;
  }

  void remove(SubscriptionImpl sub) {
    subscriptions.remove(sub);
  }

  Watcher watch(Predicate<QmpEvent> match, Runnable onMatch, Runnable onClose) {
    Watcher w = new Watcher(match, onMatch, onClose);
    watchers.add(w);
    return w;
  }

  void unwatch(Watcher w) {
    watchers.remove(w);
  }

  void dispatch(QmpEvent event) {
    if (!watchers.isEmpty()) {
      for (Watcher w : List.copyOf(watchers)) {
        if (w.match.test(event)) {
          watchers.remove(w);
          w.onMatch.run();
        }
      }
    }
    for (SubscriptionImpl sub : subscriptions) {
      sub.offer(event);
    }
  }

  /** The session ended: watchers learn it, subscribers are told events may be missed. */
  void sessionLost() {
    List<Watcher> ended = List.copyOf(watchers);
    watchers.clear();
    ended.forEach(w -> w.onClose.run());
  }

  void reconnected() {
    subscriptions.forEach(s -> s.gap(EventGap.RECONNECTED));
  }
}
