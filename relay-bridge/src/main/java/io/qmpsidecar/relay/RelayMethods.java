package io.qmpsidecar.relay;

/** Method names of the relay protocol, as they appear in JSON-RPC {@code method}. */
public final class RelayMethods {

  /** The protocol versions this implementation speaks, newest last. */
  public static final int PROTOCOL_VERSION = 1;

  public static final String HELLO = "relay.hello";
  public static final String ACK = "relay.ack";
  public static final String PING = "relay.ping";

  public static final String DEVICE_ATTACH = "device.attach";
  public static final String DEVICE_DETACH = "device.detach";
  public static final String DEVICE_LIST = "device.list";
  public static final String VM_LIST = "vm.list";
  public static final String STATE_SNAPSHOT = "state.snapshot";

  public static final String OP_PROGRESS = "op.progress";
  public static final String OP_COMPLETED = "op.completed";
  public static final String OP_FAILED = "op.failed";
  public static final String DEVICE_DELETED = "device.deleted";
  public static final String MIGRATION_STATUS = "migration.status";
  public static final String VFIO_STATE = "vfio.state";
  public static final String FAILOVER_PREFIX = "failover.";
  public static final String VM_LIFECYCLE = "vm.lifecycle";

  private RelayMethods() {}
}
