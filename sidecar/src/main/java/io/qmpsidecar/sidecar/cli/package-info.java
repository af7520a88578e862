/**
 * The {@code qmp-sidecar} command line (picocli): one class per command. Commands that talk to a
 * running daemon go through its HTTP API ({@code ApiClient}); the {@code --qmp} modes talk to a
 * QEMU monitor directly ({@code DirectQmp}); {@code run} starts the daemon. Every failure reaches
 * one handler ({@code CliFailures}) that prints one line and maps the failure's kind to the exit
 * code.
 *
 * <p>Top layer: may use every other package.
 */
package io.qmpsidecar.sidecar.cli;
