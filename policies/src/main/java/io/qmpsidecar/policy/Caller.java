package io.qmpsidecar.policy;

import java.util.regex.Pattern;

/**
 * Who sends a request. The id has one of the forms {@code dpu}, {@code cli},
 * {@code api:<token-name>}, {@code proxy:<client>} or {@code rule:<rule-id>}; the name after the
 * colon is 1 to 64 characters from {@code [A-Za-z0-9._@-]}. The entry point that authenticated
 * the caller builds it; a request never names its own caller.
 */
public record Caller(String id) {

  private static final Pattern FORM =
      Pattern.compile("dpu|cli|(?:api|proxy|rule):[A-Za-z0-9._@-]{1,64}");

  /** Validates the id; throws {@link IllegalArgumentException} naming the accepted forms. */
  public Caller {
    if (id == null || !FORM.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "invalid caller '"
              + id
              + "': use dpu, cli, api:<token-name>, proxy:<client> or rule:<id>"
              + " (names of 1-64 characters from A-Z a-z 0-9 . _ @ -)");
    }
  }

  /** The DPU control plane, over the relay. */
  public static Caller dpu() {
    return new Caller("dpu");
  }

  /** The local command line, run by the host's administrator. */
  public static Caller cli() {
    return new Caller("cli");
  }

  /** A client of the HTTP API authenticated with the token named {@code tokenName}. */
  public static Caller api(String tokenName) {
    return new Caller("api:" + tokenName);
  }

  /** A client of the QMP proxy socket. */
  public static Caller proxy(String client) {
    return new Caller("proxy:" + client);
  }

  /** An automation rule acting on an event. */
  public static Caller rule(String ruleId) {
    return new Caller("rule:" + ruleId);
  }

  @Override
  public String toString() {
    return id;
  }
}
