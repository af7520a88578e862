package io.qmpsidecar.libvirt.impl;

import org.libvirt.Connect;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.libvirt.jna.Libvirt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's default event loop ({@code virEventRegisterDefaultImpl} +
 * {@code virEventRunDefaultImpl}) on one daemon thread for the whole process: libvirt allows one
 * event implementation per process, registered before the first connection opens. Every event
 * callback and keepalive of every client runs on this thread. It runs until the JVM exits.
 */
public final class EventLoop {
  private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);
  private static final String THREAD_NAME = "libvirt-event-loop";
  private static Thread thread;
  // libvirt prints every error to stderr unless an error function is set; the caller gets the
  // error anyway (virGetLastError), so it goes to the log at debug level only.
  private static final Libvirt.VirErrorCallback QUIET_ERRORS = (data, error) ->
      LOG.debug("libvirt: {}", error == null ? "error" : error.message);

  private EventLoop() {}

  /** Registers libvirt's event implementation and starts its thread, once. */
  public static synchronized void ensureStarted() {
    if (thread != null) {
      return;
    }
    try {
      Connect.setErrorCallback(QUIET_ERRORS);
      Library.initEventLoop();
    } catch (LibvirtException e) {
      throw new IllegalStateException("cannot register libvirt's event loop: " + e.getMessage(), e);
    }
    Thread t = new Thread(EventLoop::run, THREAD_NAME);
    t.setDaemon(true);
    t.start();
    thread = t;
  }

  private static void run() {
    while (true) {
      try {
        Library.processEvent();
      } catch (LibvirtException e) {
        // virEventRunDefaultImpl fails only on a broken poll; keep serving, but do not spin.
        LOG.warn("libvirt event loop iteration failed: {}", e.getMessage());
        try {
          Thread.sleep(100);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      } catch (RuntimeException e) {
        LOG.error("libvirt event callback threw; the loop goes on", e);
      }
    }
  }
}
