package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.LinkProxy;
import io.qmpsidecar.relay.testing.RelayPair;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DPU end tells its agent when a host comes back as a new process (a new epoch). */
class HostEpochTest {

  @TempDir Path dir;
  RelayPair pair;

  @AfterEach
  void close() {
    pair.close();
  }

  @Test
  void aReconnectKeepsTheEpochAndARestartChangesIt() {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults());
    List<HostLinkEvent> ups = new CopyOnWriteArrayList<>();
    pair.dpu.hostHandler(e -> {
      if (e.up()) {
        ups.add(e);
      }
    });
    LinkProxy proxy = new LinkProxy(pair.vertx, pair.dpu.actualPort());
    proxy.start(0);
    pair.host(pair.hostOptions(dir, proxy.port()));
    Await.until("the first link", () -> ups.size() == 1);

    proxy.cutAll();
    Await.until("the link again", () -> ups.size() == 2);
    Await.result(pair.host.close());
    pair.host(pair.hostOptions(dir, proxy.port()));
    Await.until("the restarted host's link", () -> ups.size() == 3);

    assertThat(ups).extracting(HostLinkEvent::epochChanged).containsExactly(true, false, true);
    assertThat(ups.get(2).epoch()).isGreaterThan(ups.get(1).epoch());
  }
}
