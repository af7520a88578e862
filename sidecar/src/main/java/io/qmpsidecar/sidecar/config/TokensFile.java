package io.qmpsidecar.sidecar.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The API's bearer tokens ({@code api.tokensFile}): one {@code NAME:TOKEN} line per caller,
 * {@code #} comments and blank lines ignored, every token at least 16 characters. Read once, by
 * the configuration's check; the API uses what it read ({@link ApiTokens}).
 */
public final class TokensFile {
  /** The shortest token accepted. */
  public static final int MIN_TOKEN_LENGTH = 16;

  private TokensFile() {}

  /**
   * Reads the tokens, by caller name. Blocking.
   *
   * @throws IllegalArgumentException naming the file, and the line of a malformed entry
   */
  public static Map<String, byte[]> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read API tokens file " + file + ": " + e.getMessage(), e);
    }
    Map<String, byte[]> tokens = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || colon == line.length() - 1) {
        throw new IllegalArgumentException(file + ":" + (i + 1) + ": expected NAME:TOKEN");
      }
      if (line.length() - colon - 1 < MIN_TOKEN_LENGTH) {
        throw new IllegalArgumentException(file + ":" + (i + 1) + ": token of '" + line.substring(0, colon)
            + "' is shorter than " + MIN_TOKEN_LENGTH + " characters; use a long random token (e.g. openssl rand"
            + " -hex 32)");
      }
      tokens.put(line.substring(0, colon), line.substring(colon + 1).getBytes(StandardCharsets.UTF_8));
    }
    return Map.copyOf(tokens);
  }
}
