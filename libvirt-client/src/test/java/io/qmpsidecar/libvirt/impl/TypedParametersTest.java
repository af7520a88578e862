package io.qmpsidecar.libvirt.impl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Memory;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TypedParametersTest {
  @Test
  void readsWhatTheBuilderWrites() {
    TypedParameters.Block block = TypedParameters.builder()
        .string("migrate_uri", "tcp://127.0.0.1")
        .ulong("bandwidth", 100)
        .build();
    assertThat(block.count()).isEqualTo(2);
    assertThat(block.memory().size()).isEqualTo(2L * TypedParameters.SIZE);
    assertThat(TypedParameters.read(block.pointer(), block.count()))
        .containsExactly(java.util.Map.entry("migrate_uri", "tcp://127.0.0.1"), java.util.Map.entry("bandwidth", 100L));
  }

  @Test
  void readsEveryScalarTypeAtLibvirtsOffsets() {
    Memory m = new Memory(5L * TypedParameters.SIZE);
    m.clear();
    field(m, 0, "int", TypedParameters.INT).setInt(0 * TypedParameters.SIZE + TypedParameters.VALUE_OFFSET, -2);
    field(m, 1, "uint", TypedParameters.UINT).setInt(1 * TypedParameters.SIZE + TypedParameters.VALUE_OFFSET, -1);
    field(m, 2, "double", TypedParameters.DOUBLE).setDouble(2 * TypedParameters.SIZE + TypedParameters.VALUE_OFFSET, 0.5);
    field(m, 3, "bool", TypedParameters.BOOLEAN).setByte(3 * TypedParameters.SIZE + TypedParameters.VALUE_OFFSET, (byte) 1);
    field(m, 4, "unknown", 99);
    assertThat(TypedParameters.read(m, 5)).containsExactly(
        java.util.Map.entry("int", -2L), java.util.Map.entry("uint", 4294967295L),
        java.util.Map.entry("double", 0.5), java.util.Map.entry("bool", true));
  }

  @Test
  void anEmptyListIsANullPointerAndNamesAreBounded() {
    assertThat(TypedParameters.builder().build().pointer()).isNull();
    assertThat(TypedParameters.read(null, 3)).isEmpty();
    assertThatThrownBy(() -> TypedParameters.builder().string("x".repeat(80), "v").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too long");
  }

  private static Memory field(Memory m, int i, String name, int type) {
    byte[] b = name.getBytes(StandardCharsets.UTF_8);
    m.write((long) i * TypedParameters.SIZE, b, 0, b.length);
    m.setInt((long) i * TypedParameters.SIZE + TypedParameters.TYPE_OFFSET, type);
    return m;
  }
}
