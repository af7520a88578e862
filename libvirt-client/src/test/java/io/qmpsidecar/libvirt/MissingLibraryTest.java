package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A host without libvirt's C library: {@link LibvirtClient#connect}'s future fails with
 * {@link LibvirtUnavailableException} naming the package to install, and the call itself throws
 * nothing (a caller on an event loop gets a failure it can retry or report, not an Error). In a
 * child JVM whose library search path holds no libvirt, so that this JVM's libvirt stays usable.
 */
class MissingLibraryTest {

  /** The child: connects once and prints what the future failed with. */
  public static void main(String[] args) throws Exception {
    try {
      LibvirtClient.connect(LibvirtClientOptions.of("qemu:///system")).join().close();
      System.out.println("connected");
    } catch (CompletionException e) {
      System.out.println("failed: " + e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
    }
  }

  @Test
  void aHostWithoutLibvirtsLibraryGetsLibvirtUnavailableNamingThePackage() throws Exception {
    assumeFalse(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libvirt.so")),
        "libvirt's development link is installed: the system loader would find libvirt all the same");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(List.of(java, "-Djna.library.path=/nonexistent",
        "-Djna.platform.library.path=/nonexistent", "-cp", System.getProperty("java.class.path"),
        MissingLibraryTest.class.getName())).redirectErrorStream(true).start();
    String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(child.waitFor(60, TimeUnit.SECONDS)).as(output).isTrue();
    assertThat(child.exitValue()).as(output).isZero();
    assertThat(output).contains("failed: LibvirtUnavailableException: ").contains("install libvirt0");
  }
}
