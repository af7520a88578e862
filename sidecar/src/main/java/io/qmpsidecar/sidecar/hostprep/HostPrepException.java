package io.qmpsidecar.sidecar.hostprep;

import io.qmpsidecar.sidecar.ops.OperationException;

/** Host preparation of a PCI function failed; names the function, the problem and the fix. */
public class HostPrepException extends OperationException {
  private final String bdf;
  private final String problem;
  private final String fix;

  public HostPrepException(String bdf, String problem, String fix) {
    this(bdf, problem, fix, null);
  }

  public HostPrepException(String bdf, String problem, String fix, Throwable cause) {
    super("host device " + bdf + ": " + problem + "; " + fix, cause);
    this.bdf = bdf;
    this.problem = problem;
    this.fix = fix;
  }

  /** The PCI function concerned. */
  public String bdf() {
    return bdf;
  }

  /** What is wrong. */
  public String problem() {
    return problem;
  }

  /** What to do about it. */
  public String fix() {
    return fix;
  }
}
