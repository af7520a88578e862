package io.qmpsidecar.sidecar.proxy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The order in which QEMU 7.2 and 10.0 write the members of an object they built or parsed
 * (a {@code QDict}): by hash bucket ({@code tdb_hash} of the key's bytes, 512 buckets), and
 * within a bucket the member added last comes first. A client comparing bytes sees exactly
 * QEMU's order, e.g. {@code {"id": 1, "error": …}} but {@code {"return": …, "id": 1}}.
 */
final class QdictOrder {
  private static final int BUCKETS = 512;

  private QdictOrder() {}

  /** {@code keys}, given in the order they were added, in the order QEMU iterates them. */
  static List<String> of(List<String> keys) {
    List<Integer> index = new ArrayList<>(keys.size());
    int[] buckets = new int[keys.size()];
    for (int i = 0; i < keys.size(); i++) {
      index.add(i);
      buckets[i] = bucket(keys.get(i));
    }
    index.sort(Comparator.<Integer>comparingInt(i -> buckets[i]).thenComparing(i -> -i));
    List<String> ordered = new ArrayList<>(keys.size());
    index.forEach(i -> ordered.add(keys.get(i)));
    return ordered;
  }

  static int bucket(String key) {
    byte[] bytes = ModifiedUtf8.encode(key);
    int value = 0x238F13AF * bytes.length;
    for (int i = 0; i < bytes.length; i++) {
      value += (bytes[i] & 0xFF) << (i * 5 % 24);
    }
    return Integer.remainderUnsigned(1103515243 * value + 12345, BUCKETS);
  }
}
