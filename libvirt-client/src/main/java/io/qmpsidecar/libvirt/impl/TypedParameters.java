package io.qmpsidecar.libvirt.impl;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes libvirt's {@code virTypedParameter} arrays: {@code char field[80]}, an
 * {@code int type}, then an 8-byte union at offset 88; 96 bytes each on x86_64.
 */
public final class TypedParameters {
  static final int FIELD_LENGTH = 80;
  static final int TYPE_OFFSET = 80;
  static final int VALUE_OFFSET = 88;
  static final int SIZE = 96;

  static final int INT = 1;
  static final int UINT = 2;
  static final int LLONG = 3;
  static final int ULLONG = 4;
  static final int DOUBLE = 5;
  static final int BOOLEAN = 6;
  static final int STRING = 7;

  private TypedParameters() {}

  /** The parameters as a map of Long, Double, Boolean or String values, in libvirt's order. */
  public static Map<String, Object> read(Pointer params, int count) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (params == null) {
      return out;
    }
    for (int i = 0; i < count; i++) {
      long base = (long) i * SIZE;
      String field = params.getString(base, StandardCharsets.UTF_8.name());
      int type = params.getInt(base + TYPE_OFFSET);
      long v = base + VALUE_OFFSET;
      Object value = switch (type) {
        case INT -> (long) params.getInt(v);
        case UINT -> Integer.toUnsignedLong(params.getInt(v));
        case LLONG, ULLONG -> params.getLong(v);
        case DOUBLE -> params.getDouble(v);
        case BOOLEAN -> params.getByte(v) != 0;
        case STRING -> {
          Pointer s = params.getPointer(v);
          yield s == null ? "" : s.getString(0, StandardCharsets.UTF_8.name());
        }
        default -> null;
      };
      if (value != null) {
        out.put(field, value);
      }
    }
    return out;
  }

  /** Native parameters built by {@link Builder}; keep it reachable until the call returns. */
  public record Block(Memory memory, int count, List<Memory> strings) {
    public Pointer pointer() {
      return count == 0 ? null : memory;
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a parameter array for a call. */
  public static final class Builder {
    private final List<Object[]> entries = new ArrayList<>();

    public Builder string(String field, String value) {
      entries.add(new Object[] {field, STRING, value});
      return this;
    }

    public Builder ulong(String field, long value) {
      entries.add(new Object[] {field, ULLONG, value});
      return this;
    }

    public Block build() {
      Memory memory = new Memory((long) Math.max(1, entries.size()) * SIZE);
      memory.clear();
      List<Memory> strings = new ArrayList<>();
      for (int i = 0; i < entries.size(); i++) {
        Object[] e = entries.get(i);
        long base = (long) i * SIZE;
        byte[] name = ((String) e[0]).getBytes(StandardCharsets.UTF_8);
        if (name.length >= FIELD_LENGTH) {
          throw new IllegalArgumentException("typed parameter name too long: " + e[0]);
        }
        memory.write(base, name, 0, name.length);
        int type = (Integer) e[1];
        memory.setInt(base + TYPE_OFFSET, type);
        if (type == STRING) {
          byte[] bytes = ((String) e[2]).getBytes(StandardCharsets.UTF_8);
          Memory s = new Memory(bytes.length + 1L);
          s.write(0, bytes, 0, bytes.length);
          s.setByte(bytes.length, (byte) 0);
          strings.add(s);
          memory.setPointer(base + VALUE_OFFSET, s);
        } else {
          memory.setLong(base + VALUE_OFFSET, (Long) e[2]);
        }
      }
      return new Block(memory, entries.size(), List.copyOf(strings));
    }
  }
}
