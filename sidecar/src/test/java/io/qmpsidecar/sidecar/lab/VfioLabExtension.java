package io.qmpsidecar.sidecar.lab;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Builds (lab/build, cached in .lab/image-KERNEL) and boots (lab/start) the vfio lab once per JVM,
 * and hands tests the running {@link VfioLab} as a parameter. The lab is stopped when the test run
 * ends: the launcher's standard input is closed, which makes it kill the L1 QEMU it started.
 *
 * <p>The kernel is the system property {@code lab.kernel}: {@code v2} (default; the lab's own
 * kernel with IOMMUFD, the VFIO cdev and mtty mdevs) or {@code debian} (lab v1, Debian's kernel,
 * on which the tests that need mdevs or IOMMUFD fail saying so).
 *
 * <p>Test classes are skipped only when lab/build says the machine cannot build the image (exit
 * code 3: no image and no packages to download); any other failure of the build or the boot fails
 * them.
 */
public final class VfioLabExtension implements BeforeAllCallback, ParameterResolver {
  /** A cold build compiles the v2 kernel (lab/kernel), minutes on two shared cores; later ones are no-ops. */
  static final Duration BUILD_TIMEOUT = Duration.ofMinutes(90);
  static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);
  private static final int BUILD_CANNOT_DOWNLOAD = 3;
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(VfioLabExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    Run run = run(context);
    Assumptions.assumeTrue(run.skipReason == null, run.skipReason);
    if (run.failure != null) {
      throw run.failure;
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == VfioLab.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return run(context).lab;
  }

  private static Run run(ExtensionContext context) {
    return context.getRoot().getStore(NS).getOrComputeIfAbsent(Run.class, k -> Run.start(), Run.class);
  }

  /** The lab of this JVM: running, skipped with a reason, or failed with an error. */
  private static final class Run implements AutoCloseable {
    private Process launcher;
    private VfioLab lab;
    private long l1Pid = -1;
    private String skipReason;
    private AssertionError failure;

    static Run start() {
      Run run = new Run();
      try {
        Path root = projectRoot();
        Path cache = root.resolve(".lab");
        Files.createDirectories(cache.resolve("run"));
        run.build(root, cache);
        if (run.skipReason == null) {
          run.boot(root, cache);
        }
      } catch (IOException e) {
        run.failure = new AssertionError("cannot run the vfio lab: " + e, e);
      } catch (AssertionError e) {
        run.failure = e;
      }
      return run;
    }

    private static String kernel() {
      String kernel = System.getProperty("lab.kernel", "v2");
      if (!kernel.equals("v2") && !kernel.equals("debian")) {
        throw new AssertionError("lab.kernel is v2 or debian, not " + kernel);
      }
      return kernel;
    }

    private void build(Path root, Path cache) throws IOException {
      Path log = cache.resolve("build.log");
      Process p = new ProcessBuilder(root.resolve("lab/build").toString(), "--kernel", kernel())
          .directory(root.toFile())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      int code = waitFor(p, BUILD_TIMEOUT, "lab/build");
      if (code == BUILD_CANNOT_DOWNLOAD) {
        skipReason = "the vfio lab cannot be built on this machine: " + lastLine(log)
            + " (run scripts/setup with network access once)";
      } else if (code != 0) {
        throw new AssertionError("lab/build failed with exit code " + code + ": " + lastLine(log)
            + " (full log: " + log + ")");
      }
    }

    private void boot(Path root, Path cache) throws IOException {
      Path err = cache.resolve("run/start.err");
      launcher = new ProcessBuilder(root.resolve("lab/start").toString(), "--kernel", kernel(), "--timeout",
          Long.toString(BOOT_TIMEOUT.toSeconds()), "--dir", cache.resolve("run").toString())
          .directory(root.toFile()).redirectError(err.toFile()).start();
      List<String> lines = new ArrayList<>();
      CompletableFuture<Void> up = new CompletableFuture<>();
      Thread reader = new Thread(() -> readReport(lines, up), "vfio-lab-report");
      reader.setDaemon(true);
      reader.start();
      try {
        up.get(BOOT_TIMEOUT.plusSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        close();
        throw new AssertionError("the vfio lab was not up within " + BOOT_TIMEOUT.plusSeconds(30)
            + "; see " + cache.resolve("run/console.log"));
      } catch (ExecutionException e) {
        close();
        throw new AssertionError("lab/start failed: " + lastLine(err) + " (stderr: " + err
            + ", console: " + cache.resolve("run/console.log") + ")", e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
        throw new AssertionError("interrupted while the vfio lab booted", e);
      }
      synchronized (lines) {
        lab = VfioLab.parse(lines);
        System.out.printf("lab timing: L1 (kernel %s) up with its L2s in %d ms%n", lab.kernelRelease(),
            lab.bootTime().toMillis());
        lines.stream().filter(l -> l.startsWith("LAB up pid=")).findFirst()
            .ifPresent(l -> l1Pid = Long.parseLong(l.substring("LAB up pid=".length())));
      }
    }

    private void readReport(List<String> lines, CompletableFuture<Void> up) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(launcher.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (lines) {
            lines.add(line);
          }
          if (line.startsWith("LAB up ")) {
            up.complete(null);
          }
        }
        up.completeExceptionally(new IOException("lab/start ended without reporting the lab up"));
      } catch (IOException e) {
        up.completeExceptionally(e);
      }
    }

    /**
     * Saves the L2 QEMUs' logs from L1 to .lab/run/l2-logs.txt (what an L2 said before it died is
     * gone with L1), then closes the launcher's stdin (it then kills its L1), escalating to
     * signals if it lingers.
     */
    @Override
    public void close() {
      if (launcher == null) {
        return;
      }
      if (lab != null) {
        saveL2Logs();
      }
      try {
        launcher.getOutputStream().close();
      } catch (IOException e) {
        launcher.destroy();
      }
      try {
        if (!launcher.waitFor(20, TimeUnit.SECONDS)) {
          launcher.destroy();
          if (!launcher.waitFor(10, TimeUnit.SECONDS)) {
            launcher.destroyForcibly();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        launcher.destroyForcibly();
      }
      if (l1Pid > 0) {
        ProcessHandle.of(l1Pid).filter(h -> h.info().command().orElse("").endsWith("qemu-system-x86_64"))
            .ifPresent(ProcessHandle::destroyForcibly);
      }
    }

    private void saveL2Logs() {
      try {
        L1Shell.Result logs = lab.l1().exec("for f in /tmp/*.log; do echo \"== $f\"; tail -n 40 $f; done",
            Duration.ofSeconds(20));
        Files.writeString(projectRoot().resolve(".lab/run/l2-logs.txt"), logs.output() + "\n");
      } catch (IOException | AssertionError e) {
        System.err.println("lab: could not save the L2 logs from L1: " + e.getMessage());
      }
    }

    private static int waitFor(Process p, Duration timeout, String what) {
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          throw new AssertionError(what + " did not finish within " + timeout);
        }
        return p.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
        throw new AssertionError("interrupted while waiting for " + what, e);
      }
    }

    private static String lastLine(Path file) throws IOException {
      if (!Files.exists(file)) {
        return "(no output)";
      }
      List<String> all = Files.readAllLines(file);
      return all.isEmpty() ? "(no output)" : all.get(all.size() - 1);
    }

    private static Path projectRoot() {
      for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
        if (Files.isExecutable(p.resolve("lab/start")) && Files.isExecutable(p.resolve("lab/build"))) {
          return p;
        }
      }
      throw new AssertionError("no lab/start and lab/build above " + Path.of("").toAbsolutePath()
          + "; run the tests from the project checkout");
    }
  }
}
