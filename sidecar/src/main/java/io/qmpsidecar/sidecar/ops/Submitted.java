package io.qmpsidecar.sidecar.ops;

import io.vertx.core.Future;

/**
 * An operation as an entry point that answers before it ends (the DPU link) sees it.
 *
 * @param accepted completes when the operation was allowed and starts; fails with the refusal
 *     (nothing was changed) when it was refused
 * @param done completes with the operation's result, or fails with its failure (also the refusal)
 * @param <T> the result
 */
public record Submitted<T>(Future<Void> accepted, Future<T> done) {}
