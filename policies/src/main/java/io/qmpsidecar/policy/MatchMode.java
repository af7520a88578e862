package io.qmpsidecar.policy;

/** How a policy picks the rule that decides when several rules match a request. */
public enum MatchMode {
  /** The first matching rule in file order decides. The default. */
  FIRST,
  /**
   * The most specific matching rule decides: an exact caller beats a caller glob beats
   * {@code *}; then an exact command beats a command glob; then more conditions beat fewer. On a
   * tie deny beats allow, then the earlier rule wins.
   */
  MOST_SPECIFIC
}
