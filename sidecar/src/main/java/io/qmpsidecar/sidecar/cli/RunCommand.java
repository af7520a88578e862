package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.daemon.Logging;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code qmp-sidecar run}: the daemon. SIGTERM and SIGINT stop it within
 * {@code timeouts.shutdown}; SIGHUP reopens the audit file, re-reads the configuration and its policy and applies both,
 * or neither when either is invalid.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Run the sidecar daemon for the configured VMs (docs/configuration.md).")
final class RunCommand implements Callable<Integer> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RunCommand.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final long READY_POLL_MS = 10;

  @Spec CommandSpec spec;
  @Mixin ConfigOptions config;

  @Option(names = {"-v", "--verbose"}, description = "Log at INFO and print the start-up time.")
  boolean verbose;

  @Option(names = "--exit-when-ready",
      description = "Stop as soon as the sidecar is ready, every VM connected and GET /readyz answered 200 on the API"
          + " socket (a smoke check; the build uses it to record a class-data archive); exit 4 naming what is not"
          + " ready after 30 s.")
  boolean exitWhenReady;

  @Override
  public Integer call() throws Exception {
    return run(spec.commandLine().getErr());
  }

  /**
   * The daemon until it stops; {@code err} takes the start-up time {@code -v} prints. {@link LeanCli}
   * runs it too, with the options set by hand, without picocli.
   */
  int run(PrintWriter err) throws Exception {
    long t0 = System.nanoTime();
    SidecarConfig c = config.load(System.getenv());
    Logging.configure(c.log().format(), c.log().auditFile(), verbose, System.getenv());
    Sidecar sidecar;
    try {
      sidecar = Sidecar.start(c, START_TIMEOUT);
    } catch (SidecarException e) {
      throw e;
    } catch (Exception e) {
      throw SidecarException.of(Kind.UNAVAILABLE, "cannot-start", "cannot start: " + rootMessage(e)).cause(e).build();
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      sidecar.stop();
      stopped.countDown();
    }, "qmp-sidecar-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    Signal.handle(new Signal("HUP"), s -> reload(sidecar));
    if (verbose) {
      err.printf("qmp-sidecar: ready in %d ms (JVM start to ready: %d ms)%n",
          Duration.ofNanos(System.nanoTime() - t0).toMillis(),
          System.currentTimeMillis() - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime());
      err.flush();
    }
    if (exitWhenReady) {
      Runtime.getRuntime().removeShutdownHook(hook);
      List<String> notReady = awaitReady(sidecar, START_TIMEOUT.minus(Duration.ofNanos(System.nanoTime() - t0)));
      if (notReady.isEmpty()) {
        notReady = askReady(sidecar, c.api().socket(), START_TIMEOUT.minus(Duration.ofNanos(System.nanoTime() - t0)));
      }
      sidecar.stop();
      if (!notReady.isEmpty()) {
        throw SidecarException.of(Kind.UNAVAILABLE, "not-ready", "not ready within " + START_TIMEOUT.toSeconds()
            + " s: " + String.join("; ", notReady)).build();
      }
      return ExitCodes.OK;
    }
    stopped.await();
    return ExitCodes.OK;
  }

  /** Waits until every VM is connected with its proxy open, as /readyz; what is still missing after {@code wait}. */
  private static List<String> awaitReady(Sidecar sidecar, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + Math.max(0, wait.toNanos());
    List<String> notReady = sidecar.notReady();
    while (!notReady.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(READY_POLL_MS);
      notReady = sidecar.notReady();
    }
    return notReady;
  }

  /**
   * {@code GET /readyz} on the API's own socket, as a health check would ask it: the smoke check's
   * last step (and the training run of the class-data archive then holds the API's request path);
   * empty when it answers 200 within {@code wait}, else what it answered or why it did not.
   */
  private static List<String> askReady(Sidecar sidecar, Path socket, Duration wait) throws InterruptedException {
    String what = "GET /readyz on the API socket " + socket;
    HttpClientAgent client = sidecar.vertx().createHttpClient();
    try {
      int status = client.request(new RequestOptions().setServer(SocketAddress.domainSocketAddress(socket.toString()))
              .setHost("localhost").setURI("/readyz"))
          .compose(request -> request.send())
          .compose(response -> response.body().map(body -> response.statusCode()))
          .toCompletionStage().toCompletableFuture().get(Math.max(0, wait.toMillis()), TimeUnit.MILLISECONDS);
      return status == 200 ? List.of() : List.of(what + " answered " + status);
    } catch (ExecutionException e) {
      return List.of(what + " failed: " + rootMessage(e));
    } catch (TimeoutException e) {
      return List.of(what + " had no answer");
    } finally {
      client.close();
    }
  }

  /**
   * SIGHUP: reopens the audit file (logrotate moved it), then re-reads the configuration; an
   * invalid one is refused whole and logged.
   */
  private void reload(Sidecar sidecar) {
    try {
      Logging.reopenAuditFile();
    } catch (SidecarException e) {
      LOG.error("SIGHUP: {}", e.getMessage());
    }
    try {
      sidecar.reload(config.load(System.getenv()));
    } catch (SidecarException e) {
      LOG.error("SIGHUP: the new configuration is refused, the old one stays in force: {}", e.getMessage());
    }
  }

  /**
   * The failure's message, and its root cause's when that adds something; the wrappers of a
   * future's failure ({@code ExecutionException}, {@code CompletionException}) say nothing of
   * their own but the class and message of what they wrap, so they are skipped.
   */
  static String rootMessage(Throwable e) {
    Throwable t = e;
    while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
      t = t.getCause();
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = said(t);
    return root == t || message.contains(said(root)) ? message : message + " (" + said(root) + ")";
  }

  /** What {@code e} says; a file system failure's message is only its file, so its kind is added. */
  private static String said(Throwable e) {
    if (e instanceof FileSystemException f && f.getReason() == null) {
      String what = f instanceof NoSuchFileException ? "no such file or directory"
          : f instanceof AccessDeniedException ? "permission denied"
          : f instanceof FileAlreadyExistsException ? "already exists"
          : f instanceof NotDirectoryException ? "not a directory" : f.getClass().getSimpleName();
      return f.getFile() + ": " + what;
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

}
