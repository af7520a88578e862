package io.qmpsidecar.sidecar.migration;

/** {@code block}: the VM must not migrate while the function is attached. */
final class BlockStrategy implements FunctionStrategy {
  static final BlockStrategy INSTANCE = new BlockStrategy();

  @Override
  public String refusal(MigratingFunction function, MigrationRequest request) {
    return "function " + function.deviceId() + " has migration strategy block; detach it first or choose another strategy";
  }
}
