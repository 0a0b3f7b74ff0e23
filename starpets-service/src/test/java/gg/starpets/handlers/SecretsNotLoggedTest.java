package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The service's log while an http task sends a secret in its URL and a header: at DEBUG everywhere,
 * none of it (the HTTP client would log both at DEBUG: application.yml keeps it at INFO).
 */
@Isolated("reads what the whole JVM prints, which a class running alongside would add to")
@ExtendWith(OutputCaptureExtension.class)
class SecretsNotLoggedTest {

    @Test
    void noSecretAnHttpTaskSendsIsLoggedEvenAtDebugLevel(CapturedOutput output) throws IOException {
        AtomicReference<String> received = new AtomicReference<>();
        HttpServer partner = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        partner.createContext("/hook", ex -> {
            received.set(
                    ex.getRequestURI().getQuery() + " " + ex.getRequestHeaders().getFirst("X-Secret-Header"));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        partner.start();
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.tasks[0].name", "ping-partner");
        props.put("starpets.tasks[0].handler", "http");
        props.put("starpets.tasks[0].schedule", "1h");
        props.put("starpets.tasks[0].timeout", "30s");
        props.put(
                "starpets.tasks[0].params.url",
                "http://127.0.0.1:" + partner.getAddress().getPort() + "/hook?key=${HOME}");
        props.put("starpets.tasks[0].params.headers[X-Secret-Header]", "${HOME}");
        props.put("starpets.handlers.task-secrets", "HOME");
        props.put("logging.level.root", "DEBUG");
        // The receiver runs in this JVM too: what it logs of the request is not the service's.
        props.put("logging.level.com.sun.net.httpserver", "INFO");
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-secret-logs", props)) {
            await().atMost(Timing.SOON).until(() -> received.get() != null);
        } finally {
            partner.stop(0);
        }

        String home = System.getenv("HOME");
        assertThat(received).hasValue("key=" + home + " " + home);
        String log = output.getAll();
        // At DEBUG indeed, in the text or the JSON format (another test of this JVM may have switched it).
        assertThat(log.lines())
                .anyMatch(line -> line.contains("instance-secret-logs")
                        && (line.contains(" DEBUG ") || line.contains("\"level\":\"DEBUG\"")));
        assertThat(log).doesNotContain("X-Secret-Header").doesNotContain("key=" + home);
    }
}
