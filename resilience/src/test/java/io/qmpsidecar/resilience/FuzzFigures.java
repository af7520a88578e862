package io.qmpsidecar.resilience;

/** Records the executions of one fuzz target, labelled with the mode Jazzer ran in. */
public final class FuzzFigures {
  private FuzzFigures() {}

  /** Jazzer fuzzes when JAZZER_FUZZ is set to a non-empty value, else it replays the corpus. */
  public static boolean fuzzing() {
    String fuzz = System.getenv("JAZZER_FUZZ");
    return fuzz != null && !fuzz.isEmpty();
  }

  public static void record(String target, long executions) {
    String mode = fuzzing() ? "fuzzing" : "corpus replay";
    Figures.record(Figures.Section.FUZZ, target + " (" + mode + ")", executions, executions);
  }
}
