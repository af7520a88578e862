package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.impl.store.OutboxStore.Entry;

/**
 * The newest committed outbox entries (consecutive sequence numbers), bounded by count and bytes,
 * so the live link sends without reading the store back. Older entries come from the store.
 */
final class RecentEntries {

  private final Entry[] ring;
  private final long maxChars;
  private int head;
  private int size;
  private long chars;

  RecentEntries(int capacity, long maxChars) {
    this.ring = new Entry[capacity];
    this.maxChars = maxChars;
  }

  /** Adds the entry after the newest one. */
  void add(Entry e) {
    if (size == ring.length) {
      dropFirst();
    }
    ring[(head + size) % ring.length] = e;
    size++;
    chars += e.text().length();
    while (chars > maxChars && size > 1) {
      dropFirst();
    }
  }

  /** The entry with this number, or null when it is not cached. */
  Entry get(long seq) {
    if (size == 0) {
      return null;
    }
    long index = seq - ring[head].seq();
    return index < 0 || index >= size ? null : ring[(int) ((head + index) % ring.length)];
  }

  /** Forgets every entry numbered {@code seq} or lower. */
  void dropThrough(long seq) {
    while (size > 0 && ring[head].seq() <= seq) {
      dropFirst();
    }
  }

  void clear() {
    while (size > 0) {
      dropFirst();
    }
  }

  private void dropFirst() {
    chars -= ring[head].text().length();
    ring[head] = null;
    head = (head + 1) % ring.length;
    size--;
  }
}
