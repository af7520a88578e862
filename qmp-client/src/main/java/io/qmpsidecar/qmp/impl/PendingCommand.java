package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommandObserver;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.UnixFd;
import io.vertx.core.Promise;
import java.util.List;
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
  /** Descriptors to pass with the command (SCM_RIGHTS), empty for most commands. */
  final List<UnixFd> fds;
  final Promise<T> promise;
  private final long submitted = System.nanoTime();
  long id = -1;
  long timerId = -1;
  /** The caller gave up (timeout); QEMU still holds the command and its slot until it answers. */
  boolean abandoned;

  PendingCommand(QmpCommand<T> command, boolean oob, Promise<T> promise) {
    this(command, oob, List.of(), promise);
  }

  PendingCommand(QmpCommand<T> command, boolean oob, List<UnixFd> fds, Promise<T> promise) {
    this.command = command;
    this.oob = oob;
    this.fds = List.copyOf(fds);
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
