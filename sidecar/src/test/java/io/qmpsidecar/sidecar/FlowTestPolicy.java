package io.qmpsidecar.sidecar;

import io.qmpsidecar.policy.Policies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The default preset plus what the flow tests need (the API's and the CLI's): emulated devices attached with nothing
 * but a driver, an id and a bus instead of DPU functions (qtest has no VFIO; an unknown driver
 * reaches QEMU, whose error the tests check), detaching them, and migration to a loopback
 * destination, for the API's local caller and proxy clients. The extra rules come after the
 * preset's, so a request both allow is decided by the preset's own rule.
 */
public final class FlowTestPolicy {

  private static final String EXTRA = """
        # Test only (FlowTestPolicy): emulated devices in qtest, loopback migration.
        - id: test-emulated-attach
          effect: allow
          callers: ["api:local", "proxy:*"]
          commands: [device_add]
          arguments:
            driver: {pattern: '[a-z][a-z0-9-]{0,63}', required: true}
            id: {pattern: '[A-Za-z][A-Za-z0-9._-]{0,63}', required: true}
            bus: {pattern: '[A-Za-z][A-Za-z0-9._-]{0,63}'}
        - id: test-detach
          effect: allow
          callers: ["api:local", "proxy:*"]
          commands: [device_del]
          arguments:
            id: {pattern: '[A-Za-z][A-Za-z0-9._-]{0,63}', required: true}
        - id: test-migrate-loopback
          effect: allow
          callers: ["api:local", "proxy:*"]
          commands: [migrate]
          arguments:
            uri: {pattern: 'tcp:127\\.0\\.0\\.1:[0-9]{1,5}', required: true}

      """;

  private FlowTestPolicy() {}

  /** Writes the policy to {@code dir/flow-policy.yaml}; returns its path. */
  public static Path write(Path dir) throws IOException {
    return write(dir, "");
  }

  /** The same with {@code moreRules} (YAML list items, indented as the preset's) after the test's own. */
  public static Path write(Path dir, String moreRules) throws IOException {
    String preset = Policies.presetText("default");
    int end = preset.indexOf("\ndefault:");
    if (end < 0) {
      throw new IllegalStateException("the default preset has no 'default:' section any more");
    }
    return Files.writeString(dir.resolve("flow-policy.yaml"),
        preset.substring(0, end + 1) + EXTRA.indent(0) + moreRules + preset.substring(end + 1));
  }
}
