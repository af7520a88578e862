package io.qmpsidecar.policy;

import io.qmpsidecar.policy.impl.PolicyCompiler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Loads policies from files, text, or the presets shipped with qmp-sidecar. */
public final class Policies {

  /** Presets shipped in this jar (and as files under {@code policies/presets/}). */
  public static final List<String> PRESETS = List.of("default", "dpu");

  /** Policy files larger than this are refused (a policy is a few kilobytes). */
  public static final long MAX_FILE_BYTES = 1024 * 1024;

  private Policies() {}

  /**
   * Reads and compiles a policy file: JSON when the name ends in {@code .json}, YAML otherwise.
   *
   * @throws PolicyLoadException when the file cannot be read or is invalid; lists every error
   */
  public static Policy load(Path file) {
    String name = file.toString();
    String text;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw single(name, "the file is larger than " + MAX_FILE_BYTES
            + " bytes; a policy is a few kilobytes: check that this is the right file");
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw single(name, "no such file: check the path");
    } catch (IOException e) {
      throw single(name, "cannot read the file (" + e + "): check its permissions");
    }
    return parse(text, name, name.endsWith(".json"));
  }

  /**
   * Compiles policy text.
   *
   * @param source the name errors and {@link Policy#source()} use
   * @param json true for JSON, false for YAML
   * @throws PolicyLoadException when the text is invalid; lists every error
   */
  public static Policy parse(String text, String source, boolean json) {
    return PolicyCompiler.compile(text, source, json);
  }

  /**
   * Loads a preset by name (see {@link #PRESETS}); its source is {@code preset:NAME}.
   *
   * @throws PolicyLoadException for an unknown name
   */
  public static Policy preset(String name) {
    return parse(presetText(name), "preset:" + name, false);
  }

  /** The YAML text of a preset, as shipped. */
  public static String presetText(String name) {
    if (!PRESETS.contains(name)) {
      throw single("preset:" + name, "unknown preset '" + name + "': use one of " + PRESETS);
    }
    String resource = "presets/" + name + ".yaml";
    try (InputStream in = Policies.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new PolicyException("preset " + name + " is missing from the policies jar ("
            + resource + "); rebuild the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new PolicyException("cannot read preset " + name + " from the policies jar", e);
    }
  }

  private static PolicyLoadException single(String file, String message) {
    return new PolicyLoadException(List.of(new PolicyError(file, 0, 0, "", message)));
  }
}
