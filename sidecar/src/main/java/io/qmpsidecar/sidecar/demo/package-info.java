/**
 * {@code qmp-sidecar demo}: two throwaway QEMUs, a local DPU agent and a daemon between them,
 * telling the story of an attach, a migration and a detach.
 *
 * <p>Top layer, beside {@code cli}: may use every other package.
 */
package io.qmpsidecar.sidecar.demo;
