package gg.starpets.support;

import gg.starpets.StarPetsApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.awaitility.Awaitility;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One instance of the real service, in this JVM, on a random port, against a test database, connected
 * as the shipped database roles and started with {@link TestTokens} (unless the test's own settings say
 * otherwise).
 */
public final class AppInstance implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final ConfigurableApplicationContext context;
    private final int port;

    private AppInstance(ConfigurableApplicationContext context) {
        this.context = context;
        this.port = ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    /** Starts an instance named {@code instanceId} on {@code database} of the test server; extra properties win. */
    public static AppInstance start(String database, String instanceId, Map<String, Object> extra) {
        return start(TestPostgres.port(), database, instanceId, extra);
    }

    public static AppInstance start(int dbPort, String database, String instanceId, Map<String, Object> extra) {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", 0);
        props.put("starpets.instance-id", instanceId);
        props.put("starpets.db.host", "127.0.0.1");
        props.put("starpets.db.port", dbPort);
        props.put("starpets.db.name", database);
        // No user or password: the roles as shipped (db/roles.sql, which TestPostgres ran on the database),
        // migrations as starpets_owner, the service as starpets_app.
        props.putAll(TestTokens.settings());
        props.put("starpets.db.pool-size", 10);
        props.put("starpets.scheduler.settle", "200ms");
        props.put("starpets.scheduler.heartbeat", "250ms");
        props.put("starpets.scheduler.lease", "3s");
        props.put("starpets.scheduler.shutdown-grace", "1s");
        props.put("starpets.scheduler.task-duration", "2s");
        props.putAll(extra);
        // As command-line arguments: they outrank application.yml (builder properties would not).
        String[] args = props.entrySet().stream()
                .map(e -> "--" + e.getKey() + "=" + e.getValue())
                .toArray(String[]::new);
        // Spring Boot's logging system is one per JVM: two contexts initialising it at once race
        // ("Unable to find Spring Environment in logger context"); instances started in parallel in
        // separate processes are covered by the jar tests.
        synchronized (AppInstance.class) {
            return new AppInstance(new SpringApplicationBuilder(StarPetsApplication.class).run(args));
        }
    }

    /** Properties defining task number {@code index}, replacing the configured demo tasks. */
    public static Map<String, Object> task(
            int index, String name, String handler, String schedule, String timeout, String duration) {
        String prefix = "starpets.tasks[" + index + "].";
        Map<String, Object> props = new HashMap<>();
        props.put(prefix + "name", name);
        props.put(prefix + "handler", handler);
        props.put(prefix + "schedule", schedule);
        props.put(prefix + "timeout", timeout);
        if (duration != null) {
            props.put(prefix + "params.duration", duration);
        }
        return props;
    }

    public ConfigurableApplicationContext context() {
        return context;
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** A GET with the token of a reader of {@code path} ({@link TestTokens#readerOf}). */
    public HttpResponse<String> get(String path) {
        return send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(url(path))), TestTokens.readerOf(path))
                .GET());
    }

    /** A GET without any credential. */
    public HttpResponse<String> getAnonymously(String path) {
        return send(HttpRequest.newBuilder(URI.create(url(path))).GET());
    }

    /** A JSON request with {@code token} as its bearer; {@code headers}: name, value, name, value… */
    public HttpResponse<String> call(String token, String method, String path, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url(path)))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return send(request);
    }

    /** Sends the request as it is: the test adds the credential it means to send, if any. */
    public HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The oldest run of {@code task} that ended {@code status}, as /runs lists it, once there is one. */
    public JsonNode firstRun(String task, String status) {
        return Awaitility.await()
                .atMost(Timing.SOON)
                .until(
                        () -> {
                            JsonNode runs = JSON.readTree(get("/runs?task=" + task + "&status=" + status)
                                            .body())
                                    .get("runs");
                            return runs.isEmpty() ? null : runs.get(runs.size() - 1);
                        },
                        run -> run != null);
    }

    @Override
    public void close() {
        context.close();
    }
}
