package io.qmpsidecar.sidecar.ops;

/** The request names a VM the sidecar's configuration does not have. */
public class UnknownVmException extends OperationException {
  public UnknownVmException(String vm) {
    super("unknown VM '" + vm + "'; use one of the VMs in the sidecar's configuration");
  }
}
