package io.qmpsidecar.sidecar.proxy;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Keeps a client's in-band replies in the order of its commands, as QEMU answers them, even when
 * the proxy answers a later command itself (a denial, a malformed line) before QEMU answers an
 * earlier one: clients that send no {@code id} rely on that order. Confined to the session's
 * context; its size is bounded by the session's pipelining limit.
 */
final class ReplyOrder {

  /** A reserved place in the reply stream. */
  static final class Slot {
    private Buffer reply;
  }

  private final ArrayDeque<Slot> slots = new ArrayDeque<>();
  private final Consumer<Buffer> out;

  ReplyOrder(Consumer<Buffer> out) {
    this.out = out;
  }

  Slot reserve() {
    Slot slot = new Slot();
    slots.addLast(slot);
    return slot;
  }

  /** Fills a slot and writes every reply that no earlier command holds back any more. */
  void fill(Slot slot, Buffer reply) {
    slot.reply = reply;
    while (!slots.isEmpty() && slots.peekFirst().reply != null) {
      out.accept(slots.pollFirst().reply);
    }
  }

  /** Commands whose replies are not written yet. */
  int pending() {
    return slots.size();
  }
}
