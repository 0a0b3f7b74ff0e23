package gg.starpets.observability;

import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.RunTracing;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.TraceContext;
import io.micrometer.tracing.Tracer;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * A span per run over Micrometer Tracing (OpenTelemetry behind it): {@code starpets.run}, begun when
 * its claim was sent, with the children {@code starpets.claim} (the claim statement) and
 * {@code starpets.run.end} (the write of its end). Each run is a trace of its own (a root span).
 */
final class RunTraces implements RunTracing {

    static final String RUN_SPAN = "starpets.run";
    static final String CLAIM_SPAN = "starpets.claim";
    static final String END_SPAN = "starpets.run.end";

    private final Tracer tracer;

    RunTraces(Tracer tracer) {
        this.tracer = tracer;
    }

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public Trace start(Run run) {
        Span span = tracer.spanBuilder()
                .name(RUN_SPAN)
                .setNoParent()
                .tag("starpets.task", run.task())
                .tag("starpets.run.id", run.runId())
                .tag("starpets.run.attempt", run.attempt())
                .tag("starpets.run.fence", run.fence())
                .tag("starpets.instance.id", run.instanceId())
                .tag("starpets.run.cause", run.cause() == null ? "" : run.cause())
                .startTimestamp(micros(run.claimSent()), TimeUnit.MICROSECONDS)
                .start();
        tracer.spanBuilder()
                .name(CLAIM_SPAN)
                .setParent(span.context())
                .startTimestamp(micros(run.claimSent()), TimeUnit.MICROSECONDS)
                .start()
                .end(micros(run.claimReturned()), TimeUnit.MICROSECONDS);
        return new RunTrace(span);
    }

    private static long micros(Instant time) {
        return time.getEpochSecond() * 1_000_000 + time.getNano() / 1_000;
    }

    private final class RunTrace implements Trace {
        private final Span span;

        RunTrace(Span span) {
            this.span = span;
        }

        @Override
        public String traceId() {
            return span.context().traceId();
        }

        @Override
        public String traceparent() {
            TraceContext c = span.context();
            return "00-" + c.traceId() + "-" + c.spanId() + (Boolean.TRUE.equals(c.sampled()) ? "-01" : "-00");
        }

        @Override
        public Scope open() {
            Tracer.SpanInScope scope = tracer.withSpan(span);
            return scope::close;
        }

        @Override
        public Scope endWrite() {
            Span write = tracer.nextSpan(span).name(END_SPAN).start();
            return write::end;
        }

        @Override
        public void end(RunStatus status, String error, boolean written) {
            span.tag("starpets.run.status", status.name());
            span.tag("starpets.run.written", written);
            if (error != null && status != RunStatus.SUCCEEDED) {
                span.error(new RunEnded(status + ": " + error));
            }
            span.end();
        }
    }

    /** What a span records as the error of a run that did not succeed (no stack trace: it is not thrown). */
    private static final class RunEnded extends RuntimeException {
        RunEnded(String message) {
            super(message, null, false, false);
        }
    }
}
