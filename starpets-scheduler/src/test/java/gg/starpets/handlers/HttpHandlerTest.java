package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import gg.starpets.scheduler.RunContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The http handler against a real HTTP server on 127.0.0.1. */
class HttpHandlerTest {

    private static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /** What the server saw of one request. */
    record Seen(String method, String path, Map<String, List<String>> headers, String body) {

        String header(String name) {
            return headers.entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().getFirst())
                    .findFirst()
                    .orElse(null);
        }
    }

    private final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch streaming = new CountDownLatch(1);
    private final CountDownLatch clientGone = new CountDownLatch(1);
    private final Map<String, String> environment = new HashMap<>(Map.of("PARTNER_TOKEN", "s3cret-value"));
    private final HttpHandler handler = new HttpHandler(
            TaskSecrets.parse(List.of("PARTNER_TOKEN", "MISSING_TOKEN"), () -> environment), HttpDestinations.NONE);
    private HttpServer server;
    private String base;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/ok", ex -> answer(ex, 200, "hello"));
        server.createContext("/fail", ex -> answer(ex, 500, "boom: the partner is down"));
        server.createContext("/moved", ex -> {
            ex.getResponseHeaders().add("Location", "/ok");
            answer(ex, 302, "");
        });
        server.createContext("/big", ex -> answer(ex, 200, "x".repeat(100_000) + "END"));
        // A receiver that quotes what it was sent back, as many do in a 400.
        server.createContext("/echo", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            answer(ex, 400, "bad request: Authorization: " + auth + ", body: " + body);
        });
        server.createContext("/echo-at-the-cut", ex -> {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            answer(ex, 200, "x".repeat(HttpHandler.KEPT_BYTES - "Bearer s3cr".length()) + auth);
        });
        server.createContext("/to-internal", ex -> redirect(ex, "http://internal.test:" + port() + "/ok"));
        server.createContext("/to-partner", ex -> redirect(ex, "http://partner.test:" + port() + "/ok"));
        server.createContext("/to-other", ex -> redirect(ex, "http://other.test:" + port() + "/ok"));
        server.createContext("/silent", ex -> {
            record(ex);
            awaitRelease();
            answer(ex, 200, "too late");
        });
        server.createContext("/slow", ex -> {
            record(ex);
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                streaming.countDown();
                for (int i = 0; i < 600 && release.getCount() > 0; i++) {
                    out.write('.');
                    out.flush();
                    release.await(50, TimeUnit.MILLISECONDS);
                }
            } catch (IOException e) {
                clientGone.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        release.countDown();
        server.stop(0);
        others.forEach(other -> other.stop(0));
        handler.close();
    }

    /** Servers besides the main one. */
    private final List<HttpServer> others = new ArrayList<>();

    /** A server at {@code address} and {@code port} (0: any) whose {@code /ok} records each request in {@code into}. */
    private HttpServer serverAt(String address, int port, BlockingQueue<Seen> into) throws IOException {
        HttpServer other = HttpServer.create(new InetSocketAddress(address, port), 0);
        other.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        other.createContext("/ok", ex -> {
            into.add(new Seen(
                    ex.getRequestMethod(), ex.getRequestURI().getPath(), Map.copyOf(ex.getRequestHeaders()), ""));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        other.start();
        others.add(other);
        return other;
    }

    /** A resolver that knows only these names, each for the address given: no DNS. */
    private static OutboundHttp.Resolver names(Map<String, String> addresses) {
        return host -> {
            String address = addresses.get(host);
            if (address == null) {
                throw new UnknownHostException(host);
            }
            return new InetAddress[] {InetAddress.getByName(address)};
        };
    }

    private static final Map<String, String> TEST_NAMES =
            Map.of("partner.test", "127.0.0.1", "internal.test", "127.0.0.1", "other.test", "127.0.0.1");

    /** Runs the handler as for a task created over the API. */
    private static RunContext apiRun(HttpHandler h, Map<String, Object> params) throws Exception {
        RunContext context = context(params).asApiTask();
        h.run(context);
        return context;
    }

    private void record(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        seen.add(new Seen(
                ex.getRequestMethod(), ex.getRequestURI().getPath(), Map.copyOf(ex.getRequestHeaders()), body));
    }

    private void answer(HttpExchange ex, int status, String body) throws IOException {
        record(ex);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private void redirect(HttpExchange ex, String location) throws IOException {
        ex.getResponseHeaders().add("Location", location);
        answer(ex, 302, "");
    }

    private int port() {
        return server.getAddress().getPort();
    }

    private void awaitRelease() {
        try {
            release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static RunContext context(Map<String, Object> params) {
        return RunContext.detached("ping-partner", params, Duration.ofSeconds(20));
    }

    private RunContext run(Map<String, Object> params) throws Exception {
        RunContext context = context(params);
        handler.validate(params);
        handler.run(context);
        return context;
    }

    private Seen nextSeen() throws InterruptedException {
        Seen s = seen.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("a request reached the server").isNotNull();
        return s;
    }

    @Test
    void aSuccessfulCallKeepsItsStatusDurationSizeAndAnswer() throws Exception {
        RunContext context = run(Map.of("url", base + "/ok"));

        assertThat(context.result()).containsEntry("status", 200).containsEntry("bytes", 5L);
        assertThat((Long) context.result().get("durationMs")).isNotNegative();
        assertThat(context.output()).startsWith("HTTP 200 in ").endsWith("\nhello");
        assertThat(nextSeen().method()).isEqualTo("GET");
    }

    @Test
    void theRunsIdAttemptFenceAndTaskGoOutAsHeaders() throws Exception {
        run(Map.of("url", base + "/ok"));

        Seen s = nextSeen();
        assertThat(s.header("X-StarPets-Run-Id")).isEqualTo("0");
        assertThat(s.header("X-StarPets-Attempt")).isEqualTo("1");
        assertThat(s.header("X-StarPets-Fence")).isEqualTo("0");
        assertThat(s.header("X-StarPets-Task")).isEqualTo("ping-partner");
        assertThat(s.header("X-StarPets-Deadline"))
                .as("no hold outside the scheduler")
                .isNull();
    }

    @Test
    void theTimeTheRunIsForGoesOutAsAHeaderInUtc() throws Exception {
        Map<String, Object> params = Map.of("url", base + "/ok");
        handler.validate(params);
        handler.run(context(params).asScheduledFor(Instant.parse("2026-12-07T06:00:00+03:00")));

        assertThat(nextSeen().header("X-StarPets-Scheduled-For")).isEqualTo("2026-12-07T03:00:00Z");
    }

    @Test
    void aTracedRunSendsItsTraceparentInPlaceOfAnyGivenOne() throws Exception {
        Map<String, Object> params = Map.of("url", base + "/ok", "headers", Map.of("TraceParent", "00-given"));
        handler.validate(params);
        handler.run(context(params).asTraced(TRACEPARENT));

        assertThat(nextSeen().header("traceparent")).isEqualTo(TRACEPARENT);
    }

    @Test
    void anUntracedRunSendsNoTraceparentOfItsOwn() throws Exception {
        run(Map.of("url", base + "/ok"));

        assertThat(nextSeen().header("traceparent")).isNull();
    }

    /** A context for run 41 (fence 7) whose hold ends {@code hold} from now, less a margin of 500 ms. */
    private static RunContext held(Map<String, Object> params, Duration hold) {
        return RunContext.detached(
                "ping-partner",
                params,
                Duration.ofSeconds(20),
                41,
                7,
                System.nanoTime() + hold.toNanos(),
                Duration.ofMillis(500));
    }

    @Test
    void eachRequestCarriesTheEndOfItsHoldAndItsTimeoutNeverGoesPastIt() throws Exception {
        // The hold less its margin ends 1 s from now; the task's timeout is 20 s; the server never answers.
        RunContext context = held(Map.of("url", base + "/silent"), Duration.ofMillis(1500));
        Instant before = Instant.now();

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasMessageStartingWith("GET " + base + "/silent: no complete answer before the run's hold ended,");
        Instant failed = Instant.now();

        Seen s = nextSeen();
        assertThat(s.header("X-StarPets-Fence")).isEqualTo("7");
        String header = s.header("X-StarPets-Deadline");
        assertThat(header).as("RFC 3339, UTC").matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z");
        Instant deadline = Instant.parse(header);
        assertThat(deadline).isAfter(before).isBeforeOrEqualTo(before.plusSeconds(1));
        assertThat(failed).as("given up by the deadline").isBefore(deadline.plus(GIVE_UP_SLACK));
    }

    @Test
    void aTimeoutShorterThanTheHoldLeftIsKept() {
        RunContext context = held(Map.of("url", base + "/silent", "timeout", "300ms"), Duration.ofSeconds(30));

        assertThatThrownBy(() -> handler.run(context)).hasMessageContaining("no complete answer within 300ms");
    }

    @Test
    void aRunPastItsHoldSendsNothing() {
        RunContext context = held(Map.of("url", base + "/ok"), Duration.ofMillis(400));

        assertThatThrownBy(() -> handler.run(context)).isInstanceOf(InterruptedException.class);
        assertThat(seen).isEmpty();
    }

    /**
     * How late after its deadline the client may give up on a request: the HTTP client's timer and
     * the thread waking on a loaded 2-core machine. The hold's margin (500 ms here) is what covers it.
     */
    private static final Duration GIVE_UP_SLACK = Duration.ofMillis(400);

    @Test
    void methodHeadersAndBodyAreSentAsWritten() throws Exception {
        run(Map.of(
                "url",
                base + "/ok",
                "method",
                "post",
                "headers",
                Map.of("Content-Type", "application/json", "X-Mode", "full"),
                "body",
                "{\"x\":1}"));

        Seen s = nextSeen();
        assertThat(s.method()).isEqualTo("POST");
        assertThat(s.header("Content-Type")).isEqualTo("application/json");
        assertThat(s.header("X-Mode")).isEqualTo("full");
        assertThat(s.body()).isEqualTo("{\"x\":1}");
    }

    @Test
    void aStatusOutsideTheSuccessfulOnesFailsTheRunNamingTheStatusAndKeepsTheAnswer() {
        RunContext context = context(Map.of("url", base + "/fail"));

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasToString("GET " + base + "/fail answered HTTP 500 (success: 200-299)");
        assertThat(context.result()).containsEntry("status", 500);
        assertThat(context.output()).contains("boom: the partner is down");
    }

    @Test
    void successStatusesCanListMoreStatusesAndRanges() throws Exception {
        RunContext context = run(Map.of("url", base + "/fail", "success-statuses", "200-299, 304,500"));

        assertThat(context.result()).containsEntry("status", 500);
    }

    @Test
    void aGetFollowsRedirectsAndAPostDoesNotUnlessAsked() throws Exception {
        RunContext get = run(Map.of("url", base + "/moved"));
        assertThat(get.result()).containsEntry("status", 200);
        assertThat(get.output()).endsWith("hello");

        assertThatThrownBy(() -> run(Map.of("url", base + "/moved", "method", "POST", "body", "{}")))
                .hasMessageContaining("answered HTTP 302");
        assertThatThrownBy(() -> run(Map.of("url", base + "/moved", "follow-redirects", "false")))
                .hasMessageContaining("answered HTTP 302");
        RunContext accepted = run(Map.of("url", base + "/moved", "follow-redirects", false, "success-statuses", "302"));
        assertThat(accepted.result()).containsEntry("status", 302);
    }

    @Test
    void onlyTheFirstFourKilobytesOfALongAnswerAreKept() throws Exception {
        RunContext context = run(Map.of("url", base + "/big"));

        assertThat(context.result()).containsEntry("bytes", 100_003L);
        String kept = context.output().substring(context.output().indexOf('\n') + 1);
        assertThat(kept).hasSize(HttpHandler.KEPT_BYTES).doesNotContain("END");
        assertThat(context.output()).contains("(the first 4096 kept)");
    }

    @Test
    void environmentVariablesAreReplacedWhenTheTaskRunsAndNeverShowInTheRun() throws Exception {
        Map<String, Object> params = Map.of(
                "url",
                base + "/ok?key=${PARTNER_TOKEN}",
                "headers",
                Map.of("Authorization", "Bearer ${PARTNER_TOKEN}", "X-Literal", "$${PARTNER_TOKEN}"),
                "body",
                "token=${PARTNER_TOKEN}");
        RunContext context = run(params);

        Seen s = nextSeen();
        assertThat(s.header("Authorization")).isEqualTo("Bearer s3cret-value");
        assertThat(s.header("X-Literal")).isEqualTo("${PARTNER_TOKEN}");
        assertThat(s.body()).isEqualTo("token=s3cret-value");
        // The task keeps the placeholders; what the run records holds no secret.
        assertThat(context.params()).isEqualTo(params);
        assertThat(context.output()).doesNotContain("s3cret");

        environment.put("PARTNER_TOKEN", "rotated");
        run(params);
        assertThat(nextSeen().header("Authorization")).isEqualTo("Bearer rotated");
    }

    @Test
    void aVariableThatIsNotSetIsRefusedAtValidationAndFailsTheRun() {
        Map<String, Object> params =
                Map.of("url", base + "/ok", "headers", Map.of("Authorization", "Bearer ${MISSING_TOKEN}"));

        assertThatThrownBy(() -> handler.validate(params))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("param 'headers.Authorization' uses ${MISSING_TOKEN}, but the environment variable"
                        + " MISSING_TOKEN is not set");
        assertThatThrownBy(() -> handler.run(context(params))).hasMessageContaining("MISSING_TOKEN is not set");
        assertThat(seen).isEmpty();
    }

    @Test
    void anAnswerSlowerThanTheRequestTimeoutFailsTheRun() throws Exception {
        CompletableFuture<Void> run =
                runInBackground(Map.of("url", base + "/silent", "timeout", "300ms"), new AtomicReference<>());

        assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(RunFailedException.class)
                .hasMessageContaining("/silent: no complete answer within 300ms");
    }

    @Test
    void withoutItsOwnTimeoutARequestGetsTheTasksTimeout() {
        RunContext context =
                RunContext.detached("ping-partner", Map.of("url", base + "/silent"), Duration.ofMillis(400));

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasMessageContaining("no complete answer within 400ms");
    }

    @Test
    void anInterruptedRunCancelsItsRequestAtOnce() throws Exception {
        AtomicReference<Thread> thread = new AtomicReference<>();
        CompletableFuture<Void> run = runInBackground(Map.of("url", base + "/slow"), thread);
        assertThat(streaming.await(10, TimeUnit.SECONDS))
                .as("the answer has begun")
                .isTrue();

        thread.get().interrupt();

        assertThatThrownBy(() -> run.get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(InterruptedException.class);
        // The connection is closed: the server's next write fails, long before its 30 s answer ends.
        await().atMost(Duration.ofSeconds(10)).until(() -> clientGone.getCount() == 0);
    }

    private CompletableFuture<Void> runInBackground(Map<String, Object> params, AtomicReference<Thread> thread) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        thread.set(Thread.ofVirtual().start(() -> {
            try {
                handler.run(context(params));
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }));
        return done;
    }

    @Test
    void anApiTaskReachesNoLoopbackAddressByDefaultAConfigurationTaskDoes() throws Exception {
        BlockingQueue<Seen> v6 = new LinkedBlockingQueue<>();
        HttpServer loopback6 = serverAt("::1", 0, v6);
        List<String> urls = List.of(
                base + "/ok",
                "http://localhost:" + port() + "/ok",
                "http://[::1]:" + loopback6.getAddress().getPort() + "/ok");

        for (String url : urls) {
            Map<String, Object> params = Map.of("url", url);
            assertThatThrownBy(() -> handler.validateApiTask(params))
                    .as(url)
                    .hasMessageStartingWith("param 'url': ")
                    .hasMessageContaining("is a loopback address");
            assertThatThrownBy(() -> apiRun(handler, params))
                    .as(url)
                    .isInstanceOf(RunFailedException.class)
                    .hasMessageStartingWith("GET " + url + ": not sent: ")
                    .hasMessageEndingWith("is a loopback address: tasks created over the API reach only public"
                            + " addresses and those named in STARPETS_HTTP_ALLOWED_DESTINATIONS");
        }
        assertThat(seen).isEmpty();
        assertThat(v6).isEmpty();

        for (String url : urls) {
            assertThat(run(Map.of("url", url)).result()).as(url).containsEntry("status", 200);
        }
    }

    @Test
    void cloudMetadataIsRefusedWhenAnApiTaskIsWrittenAndWhenItRuns() {
        Map<String, Object> params = Map.of("url", "http://169.254.169.254/latest/meta-data/");
        String why = "169.254.169.254 (for 169.254.169.254:80) is a link-local address: tasks created over the API"
                + " reach only public addresses and those named in STARPETS_HTTP_ALLOWED_DESTINATIONS";

        assertThatThrownBy(() -> handler.validateApiTask(params)).hasMessage("param 'url': " + why);
        assertThatThrownBy(() -> apiRun(handler, params))
                .hasMessage("GET http://169.254.169.254/latest/meta-data/: not sent: " + why);
    }

    @Test
    void theSettingOpensInternalDestinationsByHostHostAndPortOrBlock() throws Exception {
        BlockingQueue<Seen> v6 = new LinkedBlockingQueue<>();
        String v6base = "http://[::1]:" + serverAt("::1", 0, v6).getAddress().getPort();
        Map<String, String> allowed = Map.of(
                "127.0.0.1:" + port(),
                base + "/ok",
                "127.0.0.0/8",
                base + "/ok",
                "localhost",
                "http://localhost:" + port() + "/ok",
                "[::1]",
                v6base + "/ok",
                "::1/128",
                v6base + "/ok");

        for (var entry : allowed.entrySet()) {
            try (HttpHandler h = new HttpHandler(
                    TaskSecrets.NONE, HttpDestinations.parse(List.of(entry.getKey())), OutboundHttp.SYSTEM)) {
                h.validateApiTask(Map.of("url", entry.getValue()));
                assertThat(apiRun(h, Map.of("url", entry.getValue())).result())
                        .as(entry.toString())
                        .containsEntry("status", 200);
            }
        }
        try (HttpHandler h = new HttpHandler(
                TaskSecrets.NONE, HttpDestinations.parse(List.of("127.0.0.1:" + (port() + 1))), OutboundHttp.SYSTEM)) {
            assertThatThrownBy(() -> apiRun(h, Map.of("url", base + "/ok"))).hasMessageContaining("loopback");
        }
    }

    @Test
    void aNameThatResolvesToAForbiddenAddressIsRefused() throws Exception {
        try (HttpHandler h = new HttpHandler(
                TaskSecrets.NONE, HttpDestinations.NONE, names(Map.of("partner.example", "127.0.0.1")))) {
            Map<String, Object> params = Map.of("url", "http://partner.example:" + port() + "/ok");
            // A name is looked up only when the task runs.
            h.validateApiTask(params);

            assertThatThrownBy(() -> apiRun(h, params))
                    .hasMessageContaining(
                            "not sent: 127.0.0.1 (for partner.example:" + port() + ") is a loopback address");
        }
        assertThat(seen).isEmpty();
    }

    @Test
    void theAddressCheckedIsTheAddressConnectedToSoARebindingNameCannotSlipThrough() throws Exception {
        // A name that answers an allowed address first, and a forbidden one after: a check that looked
        // the name up apart from the connection would pass, and the connection would reach the second.
        BlockingQueue<Seen> allowedSeen = new LinkedBlockingQueue<>();
        serverAt("127.0.0.2", port(), allowedSeen);
        AtomicInteger lookups = new AtomicInteger();
        OutboundHttp.Resolver rebinding = host ->
                new InetAddress[] {InetAddress.getByName(lookups.getAndIncrement() == 0 ? "127.0.0.2" : "127.0.0.1")};

        try (HttpHandler h =
                new HttpHandler(TaskSecrets.NONE, HttpDestinations.parse(List.of("127.0.0.2")), rebinding)) {
            RunContext context = apiRun(h, Map.of("url", "http://rebinding.test:" + port() + "/ok"));

            assertThat(context.result()).containsEntry("status", 200);
        }
        assertThat(allowedSeen).hasSize(1);
        assertThat(seen).as("the forbidden address").isEmpty();
        assertThat(lookups).hasValue(1);
    }

    @Test
    void everyRedirectIsCheckedAndOneToAForbiddenDestinationRefused() throws Exception {
        try (HttpHandler h =
                new HttpHandler(TaskSecrets.NONE, HttpDestinations.parse(List.of("partner.test")), names(TEST_NAMES))) {
            assertThat(apiRun(h, Map.of("url", "http://partner.test:" + port() + "/to-partner"))
                            .result())
                    .containsEntry("status", 200);
            assertThat(nextSeen().path()).isEqualTo("/to-partner");
            assertThat(nextSeen().path()).isEqualTo("/ok");

            assertThatThrownBy(() -> apiRun(h, Map.of("url", "http://partner.test:" + port() + "/to-internal")))
                    .hasMessageContaining(
                            "not sent: 127.0.0.1 (for internal.test:" + port() + ") is a loopback address");
            assertThat(nextSeen().path()).isEqualTo("/to-internal");
            assertThat(seen).as("the redirect's target").isEmpty();
        }
    }

    @Test
    void aSecretBoundToHostsGoesOnlyToThemRedirectsIncluded() throws Exception {
        TaskSecrets bound = TaskSecrets.parse(List.of("PARTNER_TOKEN@partner.test"), () -> environment);
        Map<String, String> auth = Map.of("Authorization", "Bearer ${PARTNER_TOKEN}");
        try (HttpHandler h = new HttpHandler(bound, HttpDestinations.NONE, names(TEST_NAMES))) {
            run(h, Map.of("url", "http://partner.test:" + port() + "/ok", "headers", auth));
            assertThat(nextSeen().header("Authorization")).isEqualTo("Bearer s3cret-value");

            String why = "${PARTNER_TOKEN} may be sent only to partner.test (STARPETS_TASK_SECRETS), not to other.test:"
                    + port();
            Map<String, Object> elsewhere = Map.of("url", "http://other.test:" + port() + "/ok", "headers", auth);
            assertThatThrownBy(() -> h.validate(elsewhere)).hasMessage("param 'url': " + why);
            assertThatThrownBy(() -> h.run(context(elsewhere)))
                    .hasMessage("GET http://other.test:" + port() + "/ok: not sent: " + why);
            assertThat(seen).isEmpty();

            Map<String, Object> redirected =
                    Map.of("url", "http://partner.test:" + port() + "/to-other", "headers", auth);
            assertThatThrownBy(() -> h.run(context(redirected))).hasMessageEndingWith("not sent: " + why);
            assertThat(nextSeen().path()).isEqualTo("/to-other");
            assertThat(seen).as("the redirect's target").isEmpty();
        }
    }

    private static void run(HttpHandler h, Map<String, Object> params) throws Exception {
        h.validate(params);
        h.run(context(params));
    }

    @Test
    void onlyTaskSecretsMayBeReadNeverTheServicesOwnSettings() {
        Map<String, String> refused = Map.of(
                "${DB_PASSWORD}",
                "param 'headers.Authorization' uses ${DB_PASSWORD}: the service's own settings (DB_*, STARPETS_*,"
                        + " SPRING_*…) are never given to tasks",
                "${STARPETS_OPERATOR_TOKENS}",
                "param 'headers.Authorization' uses ${STARPETS_OPERATOR_TOKENS}: the service's own settings (DB_*,"
                        + " STARPETS_*, SPRING_*…) are never given to tasks",
                "${HOME}",
                "param 'headers.Authorization' uses ${HOME}, which STARPETS_TASK_SECRETS does not name: tasks may"
                        + " read only the variables it names");

        refused.forEach((placeholder, message) -> {
            Map<String, Object> params = Map.of("url", base + "/ok", "headers", Map.of("Authorization", placeholder));
            assertThatThrownBy(() -> handler.validate(params)).hasMessage(message);
            assertThatThrownBy(() -> handler.run(context(params))).hasMessage(message);
        });
        assertThat(seen).isEmpty();
    }

    @Test
    void aReceiverThatQuotesASecretBackShowsItNowhereInTheRun() {
        RunContext context = context(Map.of(
                "url",
                base + "/echo",
                "method",
                "POST",
                "headers",
                Map.of("Authorization", "Bearer ${PARTNER_TOKEN}"),
                "body",
                "{\"token\":\"${PARTNER_TOKEN}\"}"));

        assertThatThrownBy(() -> handler.run(context))
                .hasMessage("POST " + base + "/echo answered HTTP 400 (success: 200-299)");
        assertThat(context.output())
                .endsWith("bad request: Authorization: Bearer [redacted PARTNER_TOKEN], body:"
                        + " {\"token\":\"[redacted PARTNER_TOKEN]\"}")
                .doesNotContain("s3cret");
    }

    @Test
    void aSecretCutInTwoWhereTheKeptAnswerEndsIsTakenOutToo() throws Exception {
        RunContext context = run(Map.of(
                "url", base + "/echo-at-the-cut", "headers", Map.of("Authorization", "Bearer ${PARTNER_TOKEN}")));

        assertThat(context.output())
                .endsWith("xBearer [redacted PARTNER_TOKEN]")
                .doesNotContain("s3cr");
    }

    @Test
    void paramsAreCheckedWhenTheTaskIsDefined() {
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "methd", "GET")))
                .hasMessageStartingWith("unknown param 'methd' (known: body, follow-redirects, headers, method,");
        assertThatThrownBy(() -> handler.validate(Map.of("method", "GET"))).hasMessage("param 'url' is required");
        assertThatThrownBy(() -> handler.validate(Map.of("url", "ftp://example.org/x")))
                .hasMessage("param 'url' must be an absolute http or https URL, not 'ftp://example.org/x'");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "method", "GET /x")))
                .hasMessageContaining("param 'method' must be an HTTP method");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "headers", Map.of("Host", "example.org"))))
                .hasMessageContaining("param 'headers.Host' cannot be sent");
        assertThatThrownBy(
                        () -> handler.validate(Map.of("url", base, "headers", Map.of("Transfer-Encoding", "chunked"))))
                .hasMessageContaining("param 'headers.Transfer-Encoding' cannot be sent");
        // A line break would start a header of its own.
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "headers", Map.of("X-A", "a\r\nX-Injected: 1"))))
                .hasMessage("param 'headers.X-A' cannot be sent: a malformed name or value, or a header the HTTP"
                        + " client sets itself");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "headers", Map.of("X-StarPets-Fence", "9"))))
                .hasMessageContaining("X-StarPets-* headers are set by the handler");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "success-statuses", "2xx")))
                .hasMessageContaining("param 'success-statuses' must be statuses or ranges");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "timeout", "soon")))
                .hasMessageContaining("param 'timeout' must be a positive duration");
        assertThatThrownBy(() -> handler.validate(Map.of("url", base, "follow-redirects", "maybe")))
                .hasMessageContaining("param 'follow-redirects' must be true or false");
        assertThat(handler.operatorOnly()).isFalse();
    }
}
