/**
 * The {@code qmp-sidecar} command line (picocli): one class per command. Commands that talk to a
 * running daemon go through its HTTP API ({@code ApiClient}; for the common read calls,
 * {@code bin/qmp-sidecar} starts the lean path {@code LeanCli} instead, which sends them with
 * {@code UnixHttp} and hands everything else to the full command line); the {@code --qmp} modes
 * talk to a QEMU monitor directly ({@code DirectQmp}); {@code run} starts the daemon. Every
 * failure reaches one handler ({@code CliFailures}) that prints one line and maps the failure's
 * kind to the exit code (the lean path prints the same line with the same code).
 *
 * <p>Top layer: may use every other package.
 */
package io.qmpsidecar.sidecar.cli;
