package gg.starpets.e2e;

import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.core.ConditionTimeoutException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A webhook receiver on 127.0.0.1, as a team's chat bridge or pager would be: a real HTTP server in the
 * test's JVM that keeps every notification Alertmanager POSTs to it (webhook format, version 4). The
 * twin's Alertmanager is configured with its URL (ALERT_WEBHOOK_URL), so what arrives here went the
 * whole way: the instances' metrics, Prometheus's rules, Alertmanager's routes.
 */
final class AlertWebhook implements AutoCloseable {

    /**
     * From a task's quarantine in the database to its notification here: the instances read the gauge
     * every 5 s, Prometheus scrapes every 2 s and evaluates every 2 s, Alertmanager waits 1 s for the
     * group (Twin's settings); a minute leaves room for a loaded 2-core machine.
     */
    static final Duration DELIVERY = Duration.ofSeconds(60);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpServer server;
    private final List<JsonNode> notifications = new CopyOnWriteArrayList<>();

    private AlertWebhook(HttpServer server) {
        this.server = server;
    }

    /** Listens on a free port of 127.0.0.1. */
    static AlertWebhook start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AlertWebhook webhook = new AlertWebhook(server);
        server.createContext("/alerts", exchange -> {
            try (InputStream body = exchange.getRequestBody()) {
                if ("POST".equals(exchange.getRequestMethod())) {
                    webhook.notifications.add(JSON.readTree(body));
                    exchange.sendResponseHeaders(200, -1);
                } else {
                    exchange.sendResponseHeaders(405, -1);
                }
            } finally {
                exchange.close();
            }
        });
        server.start();
        return webhook;
    }

    /** The URL to give Alertmanager (ALERT_WEBHOOK_URL). */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/alerts";
    }

    /**
     * Waits at most {@link #DELIVERY} for a notification of alert {@code name} firing for {@code task}
     * (its label), and returns that alert (labels, annotations, status).
     */
    JsonNode awaitFiring(String name, String task) {
        try {
            return await("a notification of " + name + " firing for " + task)
                    .atMost(DELIVERY)
                    .until(() -> firing(name, task), Optional::isPresent)
                    .orElseThrow();
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(e.getMessage() + "; received instead: " + notifications, e);
        }
    }

    private Optional<JsonNode> firing(String name, String task) {
        return notifications.stream()
                .filter(n -> n.get("status").asString().equals("firing"))
                .flatMap(n -> n.get("alerts").valueStream())
                .filter(a -> a.get("status").asString().equals("firing")
                        && a.get("labels").path("alertname").asString("").equals(name)
                        && a.get("labels").path("task").asString("").equals(task))
                .findFirst();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
