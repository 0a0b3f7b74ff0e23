package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code http}: calls a URL. The run succeeds when the status is one of {@code success-statuses}
 * (default 200-299). The run's id, attempt, fence, task and the time it is for
 * ({@code X-StarPets-Scheduled-For}, ISO-8601 UTC) go out as {@code X-StarPets-*} headers,
 * so a receiver can drop a duplicate and refuse a caller whose fence is older than one it has seen;
 * and the end of the run's hold, {@code X-StarPets-Deadline} (RFC 3339, UTC, on the wall clock when
 * sent), by which it must stop working for this request: after it another instance may start the
 * task. A request's timeout never goes past it. When runs are traced, {@code traceparent} names the
 * run's span ({@link RunContext#traceparent()}).
 * {@code ${NAME}} in the URL, headers and body is replaced by the task secret NAME at run time
 * ({@link TaskSecrets}); a secret bound to hosts goes only to them, redirects included. A task created
 * over the API connects only where {@link HttpDestinations} allows, checked on every connection's
 * address ({@link OutboundHttp}). Status, duration and size go into the run's result; the first 4 KB
 * of the answer into its output, secrets taken out. An interrupted run cancels its request at once.
 */
public final class HttpHandler implements TaskHandler, AutoCloseable {

    /** How much of an answer is kept with the run. */
    static final int KEPT_BYTES = 4 * 1024;

    private final EnvPlaceholders placeholders;
    private final TaskSecrets secrets;
    private final HttpDestinations destinations;
    private final OutboundHttp outbound;
    private final Set<OutboundHttp.Exchange> sending = ConcurrentHashMap.newKeySet();

    /**
     * @param secrets what {@code ${NAME}} may read
     * @param destinations the internal destinations tasks created over the API may reach
     */
    public HttpHandler(TaskSecrets secrets, HttpDestinations destinations) {
        this(secrets, destinations, OutboundHttp.SYSTEM);
    }

    /** @param resolver looks host names up (tests give their own) */
    HttpHandler(TaskSecrets secrets, HttpDestinations destinations, OutboundHttp.Resolver resolver) {
        this.placeholders = new EnvPlaceholders(secrets, true);
        this.secrets = secrets;
        this.destinations = destinations;
        this.outbound = new OutboundHttp(resolver);
    }

    @Override
    public void validate(Map<String, Object> params) {
        HttpCall call = HttpCall.parse(params);
        placeholders.check("url", call.url());
        placeholders.check("body", call.body());
        call.headers().forEach((name, value) -> placeholders.check("headers." + name, value));
        URI uri = uri(call);
        call.headers()
                .forEach((name, value) -> HttpCall.checkHeader(name, placeholders.resolve("headers." + name, value)));
        String refusal = secrets.refusalToSend(call.secrets(), uri.getHost(), port(uri));
        if (refusal != null) {
            throw new IllegalArgumentException("param 'url': " + refusal);
        }
    }

    /**
     * Checks a task created or changed over the API: as {@link #validate}, and its URL's host is not an
     * internal address written as such (an IP literal, {@code localhost}) that such tasks may not reach.
     * A name is looked up only when the task runs, and checked then.
     */
    public void validateApiTask(Map<String, Object> params) {
        validate(params);
        String refusal = destinations.refusalAsWritten(uri(HttpCall.parse(params)));
        if (refusal != null) {
            throw new IllegalArgumentException("param 'url': " + refusal);
        }
    }

    @Override
    public void run(RunContext context) throws Exception {
        HttpCall call = HttpCall.parse(context.params());
        Duration asked = call.timeout() == null ? context.timeout() : call.timeout();
        if (!context.mayContinue()) {
            throw new InterruptedException("run " + context.runId() + " of " + context.taskName() + " was stopped");
        }
        Hold hold = Hold.at(context);
        if (hold != null && !hold.left().isPositive()) {
            throw new RunFailedException(call.describe() + ": not sent, the run's hold had ended");
        }
        boolean byHold = hold != null && hold.left().compareTo(asked) < 0;
        Duration timeout = byHold ? hold.left() : asked;
        String limit = byHold
                ? "before the run's hold ended, " + timeout.toMillis() + "ms after sending"
                : "within " + HandlerParams.text(timeout);
        OutboundHttp.Exchange exchange = outbound.exchange(
                request(call, context, hold),
                (uri, hop) -> secrets.refusalToSend(
                        hop == 0 ? call.secrets() : call.carriedSecrets(), uri.getHost(), port(uri)),
                context.fromApi() ? destinations::refusal : null);
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        CompletableFuture<OutboundHttp.Answer> pending = new CompletableFuture<>();
        sending.add(exchange);
        OutboundHttp.Answer answer;
        try {
            Thread.ofVirtual().name("starpets-http-" + context.runId()).start(() -> {
                try {
                    pending.complete(exchange.send(deadline));
                } catch (Throwable e) {
                    pending.completeExceptionally(e);
                }
            });
            answer = pending.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            exchange.cancel();
            throw e;
        } catch (TimeoutException e) {
            exchange.cancel();
            throw new RunFailedException(call.describe() + ": no complete answer " + limit);
        } catch (ExecutionException e) {
            throw failure(call, limit, e.getCause());
        } finally {
            sending.remove(exchange);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        int status = answer.status();
        HeadOfBody body = answer.body();
        context.result("status", status);
        context.result("durationMs", millis);
        context.result("bytes", body.bytes());
        context.output("HTTP " + status + " in " + millis + " ms, " + body.bytes() + " bytes"
                + (body.truncated() ? " (the first " + KEPT_BYTES + " kept)" : "") + "\n"
                + secrets.redact(body.text(), false, body.truncated()));
        if (!call.success().contains(status)) {
            throw new RunFailedException(
                    call.describe() + " answered HTTP " + status + " (success: " + call.success() + ")");
        }
    }

    /**
     * The run's hold as a request carries it: the time left, and when it ends on the wall clock (the
     * receiver's only common clock with this instance), both taken at once, just before sending.
     */
    record Hold(Duration left, Instant deadline) {

        /** Null for a context with no hold (outside the scheduler). */
        static Hold at(RunContext context) {
            long end = context.holdEndNanos();
            if (end == Long.MAX_VALUE) {
                return null;
            }
            Instant wall = Instant.now();
            Duration left = Duration.ofNanos(end - context.holdMargin().toNanos() - System.nanoTime());
            // Rounded down: a receiver that stops by the deadline stops within the hold.
            return new Hold(left, wall.plus(left).truncatedTo(ChronoUnit.MILLIS));
        }

        String header() {
            return DateTimeFormatter.ISO_INSTANT.format(deadline);
        }
    }

    private OutboundHttp.Request request(HttpCall call, RunContext context, Hold hold) {
        String body = placeholders.resolve("body", call.body());
        Map<String, String> headers = new LinkedHashMap<>();
        call.headers().forEach((name, value) -> {
            String resolved = placeholders.resolve("headers." + name, value);
            HttpCall.checkHeader(name, resolved);
            headers.put(name, resolved);
        });
        if (headers.keySet().stream().noneMatch(name -> name.equalsIgnoreCase("User-Agent"))) {
            headers.put("User-Agent", "starpets");
        }
        headers.put("X-StarPets-Run-Id", String.valueOf(context.runId()));
        headers.put("X-StarPets-Attempt", String.valueOf(context.attempt()));
        headers.put("X-StarPets-Fence", String.valueOf(context.fence()));
        headers.put("X-StarPets-Task", context.taskName());
        headers.put("X-StarPets-Scheduled-For", context.scheduledFor().toString());
        if (context.traceparent() != null) {
            // The run's span is the caller's: the receiver's spans join the run's trace (W3C Trace Context).
            headers.keySet().removeIf(name -> name.equalsIgnoreCase("traceparent"));
            headers.put("traceparent", context.traceparent());
        }
        if (hold != null) {
            headers.put("X-StarPets-Deadline", hold.header());
        }
        return new OutboundHttp.Request(
                call.method(),
                uri(call),
                headers,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8),
                call.followRedirects());
    }

    private URI uri(HttpCall call) {
        String url = placeholders.resolve("url", call.url());
        try {
            URI uri = URI.create(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (uri.getHost() != null && (scheme.equals("http") || scheme.equals("https"))) {
                return uri;
            }
        } catch (IllegalArgumentException e) {
            // reported below, without the resolved text
        }
        throw new IllegalArgumentException(
                "param 'url' must be an absolute http or https URL, not '" + call.url() + "'");
    }

    private static int port(URI uri) {
        return HttpDestinations.port(uri);
    }

    /** The run's error for a request that failed; secrets taken out (an exception may quote the host). */
    private Exception failure(HttpCall call, String limit, Throwable cause) {
        String message;
        if (cause instanceof OutboundHttp.RefusedException) {
            message = call.describe() + ": not sent: " + cause.getMessage();
        } else if (cause instanceof InterruptedIOException) {
            message = call.describe() + ": no complete answer " + limit;
        } else if (cause instanceof ConnectException) {
            message = call.describe() + ": could not connect (" + cause.getMessage() + ")";
        } else if (cause instanceof IOException || cause instanceof RuntimeException) {
            message = call.describe() + " failed: " + cause;
        } else {
            return cause instanceof Exception e ? e : new RunFailedException(call.describe() + " failed: " + cause);
        }
        return new RunFailedException(secrets.redact(message));
    }

    @Override
    public void close() {
        sending.forEach(OutboundHttp.Exchange::cancel);
    }
}
