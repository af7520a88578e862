package io.qmpsidecar.qmp.impl.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes a command as one compact JSON line. QEMU reads its socket a byte at a time, so the
 * line is as short as QMP allows: a numeric id, no spaces.
 */
public final class QmpCommandEncoder {
  private final ObjectMapper mapper;
  private final JsonFactory factory;

  public QmpCommandEncoder(ObjectMapper mapper) {
    this.mapper = mapper;
    this.factory = mapper.getFactory();
  }

  /** {@code {"execute"|"exec-oob":NAME[,"arguments":ARGS][,"id":ID]}\n}; id < 0 means none. */
  public Buffer encode(String name, ObjectNode arguments, long id, boolean oob) {
    ByteArrayBuilder out = new ByteArrayBuilder(64);
    try (JsonGenerator gen = factory.createGenerator(out)) {
      gen.writeStartObject();
      gen.writeStringField(oob ? "exec-oob" : "execute", name);
      if (arguments != null) {
        gen.writeFieldName("arguments");
        mapper.writeTree(gen, arguments);
      }
      if (id >= 0) {
        gen.writeNumberField("id", id);
      }
      gen.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode QMP command " + name, e);
    }
    out.write('\n');
    return Buffer.buffer(out.toByteArray());
  }
}
