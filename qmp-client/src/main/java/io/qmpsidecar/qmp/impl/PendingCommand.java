package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommandObserver;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.vertx.core.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A command between submission and its reply, with the promise of its caller. Confined to the
 * connection's context; the observer hears of the end before the caller does.
 */
final class PendingCommand<T> {
  private static final Logger LOG = LoggerFactory.getLogger(PendingCommand.class);

  final QmpCommand<T> command;
  final boolean oob;
  final Promise<T> promise;
  private final long submitted = System.nanoTime();
  long id = -1;
  long timerId = -1;
  /** The caller gave up (timeout); QEMU still holds the command and its slot until it answers. */
  boolean abandoned;

  PendingCommand(QmpCommand<T> command, boolean oob, Promise<T> promise) {
    this.command = command;
    this.oob = oob;
    this.promise = promise;
  }

  String name() {
    return command.name();
  }

  ObjectNode arguments() {
    return command.arguments();
  }

  void succeed(JsonNode value) {
    T result;
    try {
      result = command.reply().apply(value);
    } catch (RuntimeException e) {
      fail(new QmpProtocolException("cannot read the reply of '" + name() + "': " + e, e));
      return;
    }
    if (!promise.future().isComplete()) {
      observe(null);
      promise.complete(result);
    }
  }

  void fail(String errorClass, String description) {
    fail(new QmpCommandException(name(), errorClass, description));
  }

  void fail(Throwable cause) {
    if (!promise.future().isComplete()) {
      observe(cause);
      promise.fail(cause);
    }
  }

  private void observe(Throwable failure) {
    QmpCommandObserver observer = command.observer();
    if (observer == null) {
      return;
    }
    try {
      observer.completed(name(), id, System.nanoTime() - submitted, failure);
    } catch (RuntimeException e) {
      LOG.warn("observer of QMP command '{}' (id {}) failed", name(), id, e);
    }
  }
}
