package io.qmpsidecar.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarises a flight recording: CPU samples ({@code jdk.ExecutionSample}) per thread group, the
 * hottest methods by own time and by time including what they call; allocation
 * ({@code jdk.ObjectAllocationSample}, weighted) by allocating method and by the first
 * qmp-sidecar method on the stack; and garbage collection pauses. This is what
 * {@code bench/run --profile} prints after each benchmark; the recordings stay for JDK Mission
 * Control or {@code jfr print}.
 */
public final class JfrTop {
  private static final int TOP = 25;

  private JfrTop() {}

  /** Arguments: recordings (.jfr files). */
  public static void main(String[] args) throws IOException {
    for (String file : args) {
      summarize(Path.of(file));
    }
  }

  private static void summarize(Path file) throws IOException {
    Map<String, Integer> threads = new HashMap<>();
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> total = new HashMap<>();
    Map<String, Integer> allocated = new HashMap<>();
    Map<String, Integer> allocatedBy = new HashMap<>();
    List<Double> pauses = new ArrayList<>();
    long allocatedKiB = 0;
    int samples = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      String type = e.getEventType().getName();
      if (type.equals("jdk.GarbageCollection")) {
        pauses.add(e.getDuration("longestPause").toNanos() / 1e6);
        continue;
      }
      if (type.equals("jdk.ObjectAllocationSample") && e.getStackTrace() != null) {
        int kib = (int) (e.getLong("weight") / 1024);
        allocatedKiB += kib;
        List<RecordedFrame> frames = e.getStackTrace().getFrames();
        if (!frames.isEmpty()) {
          allocated.merge(name(frames.get(0)), kib, Integer::sum);
        }
        frames.stream().map(JfrTop::name).filter(n -> n.startsWith("io.qmpsidecar.")).findFirst()
            .ifPresent(n -> allocatedBy.merge(n, kib, Integer::sum));
        continue;
      }
      if (!type.equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
        continue;
      }
      samples++;
      RecordedThread t = e.getThread("sampledThread");
      threads.merge(group(t == null ? "?" : t.getJavaName()), 1, Integer::sum);
      List<RecordedFrame> frames = e.getStackTrace().getFrames();
      if (frames.isEmpty()) {
        continue;
      }
      self.merge(name(frames.get(0)), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        String n = name(f);
        if (seen.add(n)) {
          total.merge(n, 1, Integer::sum);
        }
      }
    }
    System.out.printf("%n== %s: %d CPU samples%n", file.getFileName(), samples);
    print("threads", threads, samples);
    print("methods by own time", self, samples);
    print("methods by time including callees", total, samples);
    System.out.printf("-- allocation: %d MiB sampled%n", allocatedKiB / 1024);
    print("allocating methods", allocated, (int) allocatedKiB);
    print("first qmp-sidecar method on allocating stacks", allocatedBy, (int) allocatedKiB);
    Collections.sort(pauses);
    if (!pauses.isEmpty()) {
      System.out.printf("-- GC: %d collections, pauses median %.1f ms, p99 %.1f ms, max %.1f ms, total %.0f ms%n",
          pauses.size(), pauses.get(pauses.size() / 2), pauses.get((int) Math.min(pauses.size() - 1, pauses.size() * 0.99)),
          pauses.get(pauses.size() - 1), pauses.stream().mapToDouble(Double::doubleValue).sum());
    }
  }

  /** Numbered threads of one pool count as one group, e.g. vert.x-eventloop-thread-*. */
  private static String group(String thread) {
    return thread == null ? "?" : thread.replaceAll("-\\d+$", "-*");
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static void print(String title, Map<String, Integer> counts, int samples) {
    System.out.println("-- " + title);
    counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())).limit(TOP)
        .forEach(e -> System.out.printf("%6.1f%%  %s%n", 100.0 * e.getValue() / Math.max(1, samples), e.getKey()));
  }
}
