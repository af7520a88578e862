package io.qmpsidecar.libvirt;

/**
 * libvirt answered a call with an error. Keeps libvirt's error number and its name (as in
 * libvirt's {@code virErrorNumber}, e.g. {@code VIR_ERR_NO_DOMAIN}) and libvirt's own message.
 */
public final class LibvirtErrorException extends LibvirtClientException {
  /**
   * libvirt's {@code VIR_ERR_INTERNAL_ERROR}; libvirt 9.0 also uses it for "no device found with
   * alias X" on a detach by alias.
   */
  public static final int INTERNAL_ERROR = 1;
  /** libvirt's {@code VIR_ERR_NO_DOMAIN}. */
  public static final int NO_DOMAIN = 42;

  private final int code;
  private final String codeName;
  private final String libvirtMessage;

  public LibvirtErrorException(String operation, int code, String codeName, String libvirtMessage) {
    super(operation, operation + ": libvirt said: " + libvirtMessage + " (" + codeName + ")");
    this.code = code;
    this.codeName = codeName;
    this.libvirtMessage = libvirtMessage;
  }

  /** libvirt's error number ({@code virErrorNumber}). */
  public int code() {
    return code;
  }

  /** The name of {@link #code()} in libvirt's {@code virErrorNumber}, e.g. {@code VIR_ERR_NO_DOMAIN}. */
  public String codeName() {
    return codeName;
  }

  /** libvirt's message, unchanged. */
  public String libvirtMessage() {
    return libvirtMessage;
  }
}
