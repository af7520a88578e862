package io.qmpsidecar.sidecar.automation;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** What every hook run shares: its environment, its lines in the log, its report's data. */
final class HookRuns {
  private static final Logger LOG = LoggerFactory.getLogger("io.qmpsidecar.hooks");
  /** Variables of the sidecar's own environment a hook inherits; nothing else is passed on. */
  private static final List<String> INHERITED = List.of("PATH", "HOME", "LANG", "LC_ALL", "TZ");
  /** Characters of stderr a report event carries (the log has all that was captured). */
  static final int STDERR_IN_EVENT = 1024;

  private HookRuns() {}

  /**
   * The hook's environment: {@code PATH}, {@code HOME}, {@code LANG}, {@code LC_ALL} and
   * {@code TZ} as the sidecar has them, {@code QMP_SIDECAR_HOOK}, {@code QMP_SIDECAR_API} (the
   * API's Unix socket, to act through it) and {@code specific}.
   */
  static Map<String, String> environment(SidecarConfig.Hook hook, Path apiSocket, Map<String, String> specific) {
    Map<String, String> env = new LinkedHashMap<>();
    Map<String, String> own = System.getenv();
    INHERITED.forEach(name -> {
      if (own.get(name) != null) {
        env.put(name, own.get(name));
      }
    });
    env.put("QMP_SIDECAR_HOOK", hook.name());
    env.put("QMP_SIDECAR_API", apiSocket.toString());
    specific.forEach((k, v) -> {
      if (v != null) {
        env.put(k, v);
      }
    });
    return env;
  }

  /** Logs how the run ended and, one line each, what it wrote (on the {@code io.qmpsidecar.hooks} logger). */
  static void log(SidecarConfig.Hook hook, String vm, String what, HookProcess.Result r) {
    try {
      MDC.put("hook", hook.name());
      MDC.put("vm", vm);
      String failure = r.failure(hook.timeout());
      if (failure == null) {
        LOG.info("hook {} for {} on VM {} exited 0 in {} ms", hook.name(), what, vm, r.millis());
      } else {
        LOG.warn("hook {} for {} on VM {} {} after {} ms", hook.name(), what, vm, failure, r.millis());
      }
      r.stdout().lines().forEach(line -> LOG.info("hook {} stdout: {}", hook.name(), line));
      r.stderr().lines().forEach(line -> LOG.info("hook {} stderr: {}", hook.name(), line));
      if (r.truncated()) {
        LOG.info("hook {}: output beyond {} bytes per stream was dropped", hook.name(), HookProcess.OUTPUT_LIMIT);
      }
    } finally {
      MDC.clear();
    }
  }

  /** The data of a run's report: the hook, its exit status or why it failed, its time and stderr. */
  static ObjectNode report(SidecarConfig.Hook hook, HookProcess.Result r) {
    ObjectNode data = JsonNodeFactory.instance.objectNode().put("hook", hook.name());
    if (r.exit() >= 0) {
      data.put("exit", r.exit());
    }
    String failure = r.failure(hook.timeout());
    if (failure != null) {
      data.put("reason", failure);
    }
    data.put("ms", r.millis());
    String stderr = r.stderr().strip();
    if (!stderr.isEmpty()) {
      data.put("stderr", stderr.length() > STDERR_IN_EVENT ? stderr.substring(stderr.length() - STDERR_IN_EVENT) : stderr);
    }
    return data;
  }
}
