/**
 * Automation that runs inside the daemon: the policy's automation rules ({@code RuleRunner}: each
 * event offered to the rules, each action run through the operations layer as caller
 * {@code rule:<id>}) and the configured hooks ({@code EventHooks}: programs run on matching
 * events; {@code PrepareHooks}: programs asked before an attach, detach or migration, wired into
 * the operations layer as its {@code OperationGuard}). Every outcome is an event
 * ({@code AutomationEvents}); docs/automation.md.
 *
 * <p>An entry point: may use {@code ops} and the layers below it, never {@code daemon} or
 * another entry point.
 */
package io.qmpsidecar.sidecar.automation;
