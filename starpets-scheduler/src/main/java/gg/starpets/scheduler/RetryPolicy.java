package gg.starpets.scheduler;

import java.time.Duration;

/**
 * Retries of a failed or timed-out run: up to {@code maxAttempts} runs in all, the n-th retry
 * after {@code initialBackoff × multiplier^(n-1)}, at most {@code maxBackoff}, each with up to 10 %
 * random jitter; never past the task's next regular time.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, double multiplier, Duration maxBackoff) {

    public RetryPolicy {
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new IllegalArgumentException("retry max-attempts must be between 1 and 100, not " + maxAttempts);
        }
        if (initialBackoff == null || initialBackoff.isNegative() || initialBackoff.isZero()) {
            throw new IllegalArgumentException("retry initial-backoff must be positive");
        }
        TaskDefinition.inMillis("retry initial-backoff", initialBackoff);
        if (!(multiplier >= 1 && multiplier <= 100)) {
            throw new IllegalArgumentException("retry multiplier must be between 1 and 100, not " + multiplier);
        }
        if (maxBackoff == null || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("retry max-backoff must be at least initial-backoff");
        }
        TaskDefinition.inMillis("retry max-backoff", maxBackoff);
    }

    /**
     * A policy with defaults for what is not given: 3 attempts, 10 s, doubling, at most 10 minutes
     * (or the initial back-off, if longer).
     */
    public static RetryPolicy of(Integer maxAttempts, Duration initialBackoff, Double multiplier, Duration maxBackoff) {
        Duration initial = initialBackoff == null ? Duration.ofSeconds(10) : initialBackoff;
        Duration max = maxBackoff != null
                ? maxBackoff
                : initial.compareTo(Duration.ofMinutes(10)) > 0 ? initial : Duration.ofMinutes(10);
        return new RetryPolicy(
                maxAttempts == null ? 3 : maxAttempts, initial, multiplier == null ? 2.0 : multiplier, max);
    }

    /** The delay before retry number {@code retry} (1 for the first), before jitter. */
    public Duration backoff(int retry) {
        double nanos = initialBackoff.toNanos() * Math.pow(multiplier, Math.max(0, retry - 1));
        return nanos >= maxBackoff.toNanos() ? maxBackoff : Duration.ofNanos((long) nanos);
    }
}
