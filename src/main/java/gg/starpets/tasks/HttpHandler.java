package gg.starpets.tasks;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * {@code http}: calls a URL. The run succeeds when the status is one of {@code success-statuses}
 * (default 200-299). The run's id, attempt, fence and task go out as {@code X-StarPets-*} headers,
 * so a receiver can drop a duplicate and refuse a caller whose fence is older than one it has seen;
 * and the end of the run's hold, {@code X-StarPets-Deadline} (RFC 3339, UTC, on the wall clock when
 * sent), by which it must stop working for this request: after it another instance may start the
 * task. A request's timeout never goes past it.
 * {@code ${NAME}} in the URL, headers and body is replaced by the environment variable NAME at run
 * time. Status, duration and size go into the run's result; the first 4 KB of the answer into its
 * output. An interrupted run cancels its request at once.
 */
public final class HttpHandler implements TaskHandler, AutoCloseable {

    /** How much of an answer is kept with the run. */
    static final int KEPT_BYTES = 4 * 1024;

    private final EnvPlaceholders placeholders;
    private final HttpClient following;
    private final HttpClient direct;

    /** {@code environment}: where {@code ${NAME}} is looked up; {@code System::getenv} in the service. */
    public HttpHandler(Function<String, String> environment) {
        this.placeholders = new EnvPlaceholders(environment);
        this.following = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        this.direct = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    @Override
    public void validate(Map<String, Object> params) {
        HttpCall call = HttpCall.parse(params);
        placeholders.check("url", call.url());
        placeholders.check("body", call.body());
        call.headers().forEach((name, value) -> placeholders.check("headers." + name, value));
        uri(call);
        call.headers().forEach((name, value) -> {
            try {
                HttpRequest.newBuilder().header(name, placeholders.resolve("headers." + name, value));
            } catch (IllegalArgumentException e) {
                // The JDK's message may quote the value: it may hold a secret.
                throw new IllegalArgumentException("param 'headers." + name
                        + "' cannot be sent: a malformed name or value, or a header the HTTP client sets itself");
            }
        });
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
        HttpRequest request = request(call, context, timeout, hold);
        long start = System.nanoTime();
        CompletableFuture<HttpResponse<HeadOfBody.Body>> pending =
                (call.followRedirects() ? following : direct).sendAsync(request, info -> new HeadOfBody(KEPT_BYTES));
        HttpResponse<HeadOfBody.Body> response;
        try {
            response = pending.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            pending.cancel(true);
            throw e;
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new RunFailedException(call.describe() + ": no complete answer " + limit);
        } catch (ExecutionException e) {
            throw failure(call, limit, e.getCause());
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        int status = response.statusCode();
        HeadOfBody.Body body = response.body();
        context.result("status", status);
        context.result("durationMs", millis);
        context.result("bytes", body.bytes());
        context.output("HTTP " + status + " in " + millis + " ms, " + body.bytes() + " bytes"
                + (body.truncated() ? " (the first " + KEPT_BYTES + " kept)" : "") + "\n" + body.text());
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

    private HttpRequest request(HttpCall call, RunContext context, Duration timeout, Hold hold) {
        String body = placeholders.resolve("body", call.body());
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri(call))
                .timeout(timeout)
                .method(
                        call.method(),
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        call.headers().forEach((name, value) -> builder.header(name, placeholders.resolve("headers." + name, value)));
        builder.header("User-Agent", "starpets")
                .header("X-StarPets-Run-Id", String.valueOf(context.runId()))
                .header("X-StarPets-Attempt", String.valueOf(context.attempt()))
                .header("X-StarPets-Fence", String.valueOf(context.fence()))
                .header("X-StarPets-Task", context.taskName());
        if (hold != null) {
            builder.header("X-StarPets-Deadline", hold.header());
        }
        return builder.build();
    }

    private URI uri(HttpCall call) {
        String url = placeholders.resolve("url", call.url());
        try {
            URI uri = URI.create(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (uri.getHost() != null && (scheme.equals("http") || scheme.equals("https"))) {
                return uri;
            }
        } catch (IllegalArgumentException e) {
            // reported below, without the resolved text
        }
        throw new IllegalArgumentException(
                "param 'url' must be an absolute http or https URL, not '" + call.url() + "'");
    }

    private static Exception failure(HttpCall call, String limit, Throwable cause) {
        if (cause instanceof HttpTimeoutException) {
            return new RunFailedException(call.describe() + ": no complete answer " + limit, cause);
        }
        if (cause instanceof ConnectException) {
            return new RunFailedException(call.describe() + ": could not connect (" + cause.getMessage() + ")", cause);
        }
        if (cause instanceof IOException) {
            return new RunFailedException(call.describe() + " failed: " + cause, cause);
        }
        return cause instanceof Exception e ? e : new RunFailedException(call.describe() + " failed: " + cause, cause);
    }

    @Override
    public void close() {
        following.shutdownNow();
        direct.shutdownNow();
    }
}
