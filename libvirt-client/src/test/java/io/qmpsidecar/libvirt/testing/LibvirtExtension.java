package io.qmpsidecar.libvirt.testing;

import io.qmpsidecar.qmp.testing.QemuBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Gives a test class one or more private, running libvirtd instances ({@link LibvirtDaemon}).
 * Register it as a static field:
 * <pre>{@code @RegisterExtension static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(1);}</pre>
 * The daemons start before the first test and stop after the last. After each test every
 * domain is destroyed, and a libvirtd the test stopped (or froze) is started (or thawed) again.
 * With two or more daemons each also listens on a loopback TCP port (peer-to-peer migration
 * destinations).
 *
 * <p>Needs root, {@code unshare} and libvirt's packages (scripts/setup installs them). The QEMU
 * capability cache is shared through the system property {@code libvirt.caps.cache} when set.
 */
public final class LibvirtExtension implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
  private final int count;
  private final List<LibvirtDaemon> daemons = new ArrayList<>();
  private Path base;

  private LibvirtExtension(int count) {
    this.count = count;
  }

  public static LibvirtExtension daemons(int count) {
    if (count < 1 || count > 4) {
      throw new IllegalArgumentException("1..4 daemons, got " + count);
    }
    return new LibvirtExtension(count);
  }

  public LibvirtDaemon daemon() {
    return daemon(0);
  }

  public LibvirtDaemon daemon(int index) {
    return daemons.get(index);
  }

  /** The emulator path for {@code qemu} (a wrapper for an unpacked QEMU, see {@link TestDomain}). */
  public Path emulator(QemuBinary qemu) throws IOException {
    return TestDomain.emulator(qemu, base.resolve("bin"));
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    requirePrerequisites();
    base = Files.createTempDirectory("libvirt-it-");
    LibvirtDaemon.traversable(base);
    String cacheProperty = System.getProperty("libvirt.caps.cache", "");
    Optional<Path> cache = cacheProperty.isBlank() ? Optional.empty() : Optional.of(Path.of(cacheProperty));
    for (int i = 0; i < count; i++) {
      daemons.add(LibvirtDaemon.start(base.resolve("d" + i), count > 1, cache));
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (LibvirtDaemon d : daemons) {
      if (d.isRunning()) {
        d.thaw();
      } else {
        d.startLibvirtd();
      }
      d.destroyAllDomains();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    Exception first = null;
    for (LibvirtDaemon d : daemons) {
      try {
        d.close();
      } catch (IOException | RuntimeException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    daemons.clear();
    LibvirtDaemon.deleteTree(base);
    if (first != null) {
      throw first;
    }
  }

  private static void requirePrerequisites() {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException("the libvirt tests start libvirtd as root in a private mount namespace; run them as root");
    }
    for (String bin : List.of("/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/virsh", "/usr/bin/unshare")) {
      if (!Files.isExecutable(Path.of(bin))) {
        throw new IllegalStateException(bin + " is missing: run scripts/setup (it installs libvirt-daemon, "
            + "libvirt-daemon-driver-qemu and libvirt-clients)");
      }
    }
  }
}
