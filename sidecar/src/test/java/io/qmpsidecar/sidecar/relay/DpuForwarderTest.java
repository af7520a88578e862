package io.qmpsidecar.sidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the DPU hears of a live update (docs/relay-protocol.md, docs/live-update.md). */
class DpuForwarderTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close();
  }

  @Test
  void aLiveUpdatesStartAndEndReachTheDpuAndTheOldQemusLastEventsDoNot() {
    assertThat(List.of("liveupdate.started", "liveupdate.completed", "liveupdate.failed"))
        .allMatch(DpuForwarder::forwarded);
    assertThat(DpuForwarder.forwarded(VmRegistry.OLD_QEMU_EVENT)).isFalse();

    List<Notification> sent = new ArrayList<>();
    DpuForwarder forwarder = new DpuForwarder(sent::add, new TrackedOps(), vertx.getOrCreateContext());
    forwarder.onEvent(new SidecarEvent(7, Instant.now(), "vm1", "liveupdate.completed", "live-update-1",
        JsonNodeFactory.instance.objectNode().put("vm", "vm1").put("oldPid", 41123).put("newPid", 41310)
            .put("version", "11.1.3").put("downtimeMs", 4).put("caller", "api:local")));

    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).method()).isEqualTo("liveupdate.completed");
    assertThat(sent.get(0).params()).containsEntry("vm", "vm1").containsEntry("newPid", 41310)
        .containsEntry("version", "11.1.3").containsEntry("downtimeMs", 4).doesNotContainKey("caller");
  }
}
