package io.qmpsidecar.sidecar.api;

/** A request the API refuses, carrying the problem to answer with. */
final class ApiException extends RuntimeException {
  private final transient Problem problem;

  ApiException(Problem problem) {
    super(problem.detail());
    this.problem = problem;
  }

  Problem problem() {
    return problem;
  }

  static ApiException badRequest(String detail) {
    return new ApiException(Problem.of(400, "bad-request", "Bad request", detail));
  }
}
