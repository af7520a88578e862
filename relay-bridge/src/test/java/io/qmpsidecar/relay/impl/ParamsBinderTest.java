package io.qmpsidecar.relay.impl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import org.junit.jupiter.api.Test;

/** {@code device.attach}'s two ways to name a function, and the stored form idempotency compares. */
class ParamsBinderTest {
  private static final String UUID = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";

  private static JsonNode params(String json) throws Exception {
    return JsonRpcCodec.MAPPER.readTree(json);
  }

  private static String member(String json) throws Exception {
    JsonNode p = params(json);
    return (String) catchThrowableOfType(RelayErrorException.class, () -> ParamsBinder.attach(p)).error().data()
        .get("member");
  }

  @Test
  void anMdevIsNamedByItsUuidInLowerCase() throws Exception {
    DeviceAttachParams p = ParamsBinder.attach(params("{\"opId\":\"a\",\"vm\":\"vm1\",\"mdev\":\"" + UUID.toUpperCase() + "\"}"));

    assertThat(p).isEqualTo(new DeviceAttachParams("a", "vm1", null, null, UUID));
  }

  @Test
  void exactlyOneOfBdfAndMdevIsGiven() throws Exception {
    assertThat(member("{\"opId\":\"a\",\"vm\":\"vm1\",\"mdev\":\"" + UUID + "\",\"bdf\":\"0000:03:00.1\"}")).isEqualTo("mdev");
    assertThat(member("{\"opId\":\"a\",\"vm\":\"vm1\"}")).isEqualTo("bdf");
    assertThat(member("{\"opId\":\"a\",\"vm\":\"vm1\",\"mdev\":\"mtty-1\"}")).isEqualTo("mdev");
    assertThat(member("{\"opId\":\"a\",\"vm\":\"vm1\",\"mdev\":7}")).isEqualTo("mdev");
    assertThat(ParamsBinder.attach(params("{\"opId\":\"a\",\"vm\":\"vm1\",\"bdf\":\"0000:03:00.1\",\"mdev\":null}")).bdf())
        .isEqualTo("0000:03:00.1");
  }

  /** A repeat of an opId stored before mdev existed must still compare equal (the ledger compares this text). */
  @Test
  void aPciFunctionsStoredFormIsTheOneBeforeMdevExisted() throws Exception {
    assertThat(JsonRpcCodec.MAPPER.writeValueAsString(new DeviceAttachParams("a", "vm1", "0000:03:00.1", null)))
        .isEqualTo("{\"opId\":\"a\",\"vm\":\"vm1\",\"bdf\":\"0000:03:00.1\",\"deviceId\":null}");
    assertThat(JsonRpcCodec.MAPPER.readValue("{\"opId\":\"a\",\"vm\":\"vm1\",\"bdf\":\"0000:03:00.1\",\"deviceId\":null}",
        DeviceAttachParams.class)).isEqualTo(new DeviceAttachParams("a", "vm1", "0000:03:00.1", null));
  }
}
