package gg.starpets.scheduler;

import java.time.Instant;

/**
 * Traces of runs, given to the engine by whoever exports them (the service: observability.RunTraces,
 * over Micrometer Tracing and OpenTelemetry): a span per run with children for its claim and the write
 * of its end. The engine depends on no tracing library. {@link #NONE}, the default, costs nothing: the
 * engine asks {@link #enabled()} before it reads a clock or builds anything for a trace.
 */
public interface RunTracing {

    /** No tracing: nothing is built, nothing exported. */
    RunTracing NONE = new RunTracing() {
        @Override
        public boolean enabled() {
            return false;
        }

        @Override
        public Trace start(Run run) {
            throw new IllegalStateException("tracing is off");
        }
    };

    /** What a run's span says of it; {@code claimSent}/{@code claimReturned} bound its claim's child span. */
    record Run(
            String task,
            long runId,
            int attempt,
            long fence,
            String instanceId,
            String cause,
            Instant claimSent,
            Instant claimReturned) {}

    /** Whether runs are traced; false: {@link #start} is never called. */
    boolean enabled();

    /** Starts a run's span (begun when its claim was sent) and its claim's child; called on the run's thread. */
    Trace start(Run run);

    /** One run's trace, used by its own thread only. */
    interface Trace {

        /** The W3C trace id: 32 lowercase hex digits. */
        String traceId();

        /** The W3C {@code traceparent} header naming the run's span, for the work it asks elsewhere. */
        String traceparent();

        /** Makes the run's span the current one on this thread until the scope is closed. */
        Scope open();

        /** Starts the child span of the write of the run's end; the scope ends it. */
        Scope endWrite();

        /**
         * Ends the run's span: the status the run ended with and its error; {@code written} false when
         * nothing was written (the task was taken over, or its end could not be recorded).
         */
        void end(RunStatus status, String error, boolean written);
    }

    /** A scope that closes without checked exceptions. */
    interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
