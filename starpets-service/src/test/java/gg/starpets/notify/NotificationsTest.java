package gg.starpets.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.handlers.HttpDestinations;
import gg.starpets.handlers.TaskSecrets;
import gg.starpets.handlers.WebhookPost;
import gg.starpets.scheduler.MisfirePolicy;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Notifications on a real database, sent to a real webhook receiver on 127.0.0.1, with a real engine
 * running the tasks: each event once whatever the number of instances scanning, retried until the
 * receiver answers, never in a run's way.
 */
@RunsAlongside
class NotificationsTest {

    /** One attempt's time: the hanging receiver holds a request far longer than this. */
    private static final Duration ATTEMPT = Duration.ofSeconds(2);

    private HikariDataSource pool;
    private HttpServer receiver;
    private final List<String> received = new CopyOnWriteArrayList<>();
    /** Requests answered 500 before the receiver answers 200. */
    private final AtomicInteger failFirst = new AtomicInteger();
    /** Counted down when the test ends: a request held on it hangs till then. */
    private final CountDownLatch hang = new CountDownLatch(1);

    private volatile boolean hanging;
    private final List<Scheduler> schedulers = new ArrayList<>();
    private final ExecutorService instances = Executors.newFixedThreadPool(3);
    private volatile boolean stopped;

    @BeforeEach
    void setUp() throws IOException {
        pool = TestPostgres.migratedDatabase(10);
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.setExecutor(Executors.newCachedThreadPool());
        receiver.createContext("/hook/secret-path", exchange -> {
            received.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (hanging) {
                try {
                    hang.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            int status = failFirst.getAndDecrement() > 0 ? 500 : 200;
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        stopped = true;
        hang.countDown();
        instances.shutdownNow();
        instances.awaitTermination(30, TimeUnit.SECONDS);
        schedulers.forEach(Scheduler::close);
        receiver.stop(0);
        pool.close();
    }

    private String webhook() {
        return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook/secret-path";
    }

    private NotifySettings settings(String defaultWebhook) {
        return new NotifySettings(
                defaultWebhook,
                List.of("FAILED", "TIMED_OUT", "STUCK", "QUARANTINED"),
                "json",
                "https://console.example",
                Duration.ofMillis(100),
                ATTEMPT,
                5,
                Duration.ofMillis(200),
                Duration.ofSeconds(1));
    }

    /** An engine instance running {@code task} with {@code handler}. */
    private void run(TaskDefinition task, TaskHandler handler) {
        run(task, handler, () -> {});
    }

    /** {@code beforeStart}: after the task is written, before the instance claims. */
    private void run(TaskDefinition task, TaskHandler handler, Runnable beforeStart) {
        String url = pool.getJdbcUrl();
        Scheduler s = new Scheduler(
                SchedulerSettings.builder("engine-" + schedulers.size())
                        .host("test-host")
                        .version("test")
                        .lease(Duration.ofSeconds(4))
                        .heartbeat(Duration.ofMillis(250))
                        .poll(Duration.ofMillis(200))
                        .settle(Duration.ofMillis(100))
                        .shutdownGrace(Duration.ofSeconds(1))
                        .build(),
                pool,
                () -> DriverManager.getConnection(url, "postgres", "postgres"),
                Map.of(task.handler(), handler),
                SchedulerEvents.NONE);
        schedulers.add(s);
        s.syncTasks(List.of(task));
        beforeStart.run();
        s.start();
    }

    /** {@code count} instances scanning and sending in a loop, each as its notify duty does, till the test ends. */
    private void notifying(int count, NotifySettings settings) {
        notifying(count, settings, new WebhookPost(TaskSecrets.NONE, HttpDestinations.NONE));
    }

    private void notifying(int count, NotifySettings settings, WebhookPost post) {
        NotificationRepository repository = new NotificationRepository(pool);
        for (int i = 0; i < count; i++) {
            NotificationSender sender = new NotificationSender(repository, post, settings, new SimpleMeterRegistry());
            instances.submit(() -> {
                while (!stopped) {
                    repository.scan(settings.on(), settings.webhookUrl() != null);
                    sender.sendDue();
                    Thread.onSpinWait();
                }
                return null;
            });
        }
    }

    private long count(String sql) {
        try (var c = pool.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An environment holding {@code yaml} as a configuration file would. */
    private static org.springframework.core.env.StandardEnvironment environment(String yaml) throws IOException {
        var environment = new org.springframework.core.env.StandardEnvironment();
        new org.springframework.boot.env.YamlPropertySourceLoader()
                .load(
                        "test.yml",
                        new org.springframework.core.io.ByteArrayResource(yaml.getBytes(StandardCharsets.UTF_8)))
                .forEach(environment.getPropertySources()::addFirst);
        return environment;
    }

    private static TaskDefinition hourly(String name, String handler) {
        return TaskDefinition.of(name, handler, "1h", "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    @Test
    void aFailedRunIsNotifiedExactlyOnceWhileThreeInstancesScanAndSend() {
        run(hourly("failing", "boom"), ctx -> {
            throw new IllegalStateException("pet catalog unavailable");
        });
        new NotificationRepository(pool)
                .configure("failing", new TaskNotify(List.of("FAILED"), webhook(), "json"), false);
        notifying(3, settings(null));

        await().atMost(Timing.SOON).until(() -> received.size() == 1);
        // The three keep scanning the same window and claiming: still one row, one request.
        Timing.holdsFor(Duration.ofSeconds(2)).until(() -> received.size() == 1);
        assertThat(count("select count(*) from notifications where state = 'SENT' and attempts = 1"))
                .isEqualTo(1);
        assertThat(count("select count(*) from notifications")).isEqualTo(1);
        assertThat(received.getFirst())
                .contains("\"event\":\"FAILED\"", "\"task\":\"failing\"", "\"status\":\"FAILED\"")
                .contains("pet catalog unavailable", "https://console.example/ui/#/task/failing")
                .contains("\"instance\":\"engine-0\"");
    }

    @Test
    void aReceiverThatFailsTwiceGetsTheNotificationAtTheThirdAttemptAndTheRunsAreUnaffected() {
        failFirst.set(2);
        run(hourly("failing", "boom"), ctx -> {
            throw new IllegalStateException("boom");
        });
        new NotificationRepository(pool)
                .configure("failing", new TaskNotify(List.of("FAILED"), webhook(), "slack"), false);
        notifying(1, settings(null));

        await().atMost(Timing.SOON)
                .until(() -> count("select count(*) from notifications where state = 'SENT' and attempts = 3") == 1);
        assertThat(received).hasSize(3).allMatch(body -> body.startsWith("{\"text\":\"StarPets: task failing failed"));
        // The task's one run ended as its handler said; the task waits for its next time.
        assertThat(count("select count(*) from task_runs where status = 'FAILED' and error like '%boom%'"))
                .isEqualTo(1);
        assertThat(count("select count(*) from task_runs")).isEqualTo(1);
        assertThat(
                        count(
                                "select count(*) from tasks where owner_session is null and next_run_at > now() + interval '50 minutes'"))
                .isEqualTo(1);
    }

    @Test
    void aTaskThatSaysNothingIsNotifiedAtTheDefaultWebhookForTheDefaultEvents() {
        run(hourly("plain", "boom"), ctx -> {
            throw new IllegalStateException("boom");
        });
        notifying(1, settings(webhook()));

        await().atMost(Timing.SOON)
                .until(() ->
                        count("select count(*) from notifications where state = 'SENT' and event = 'FAILED'") == 1);
        assertThat(received).singleElement().asString().contains("\"task\":\"plain\"");
    }

    @Test
    void aHangingReceiverNeverDelaysRuns() {
        hanging = true;
        AtomicInteger runs = new AtomicInteger();
        run(TaskDefinition.of("every-second", "boom", "1s", "UTC", Duration.ofMinutes(1), true, Map.of()), ctx -> {
            runs.incrementAndGet();
            throw new IllegalStateException("boom");
        });
        new NotificationRepository(pool)
                .configure("every-second", new TaskNotify(List.of("FAILED"), webhook(), "json"), false);
        notifying(1, settings(null).withTimeout(Duration.ofMinutes(5)));

        // The first notification is held by the receiver (for longer than the test waits)…
        await().atMost(Timing.SOON).until(() -> received.size() == 1);
        int before = runs.get();
        // …while the task runs on, every second.
        await().atMost(Timing.SOON).until(() -> runs.get() >= before + 3);
        assertThat(received).hasSize(1);
        assertThat(count("select count(*) from notifications where state = 'SENT'"))
                .isZero();
    }

    @Test
    void aSuccessAfterAFailureIsNotifiedRecoveredOnceAndLaterSuccessesAreNot() {
        AtomicInteger calls = new AtomicInteger();
        run(TaskDefinition.of("flaky", "flaky", "1s", "UTC", Duration.ofMinutes(1), true, Map.of()), ctx -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("first run fails");
            }
        });
        new NotificationRepository(pool)
                .configure("flaky", new TaskNotify(List.of("FAILED", "RECOVERED"), webhook(), "json"), false);
        notifying(2, settings(null));

        await().atMost(Timing.SOON).until(() -> calls.get() >= 4 && received.size() >= 2);
        // Runs 3, 4… succeed after a success: no RECOVERED for them.
        Timing.holdsFor(Duration.ofSeconds(2)).until(() -> received.size() == 2);
        assertThat(received.get(0)).contains("\"event\":\"FAILED\"");
        assertThat(received.get(1)).contains("\"event\":\"RECOVERED\"", "\"status\":\"SUCCEEDED\"");
        assertThat(
                        count(
                                "select count(*) from notifications n join task_runs r on r.id = n.run_id"
                                        + " where n.event = 'RECOVERED' and r.id = (select min(id) from task_runs where status = 'SUCCEEDED')"))
                .isEqualTo(1);
    }

    @Test
    void aTaskThatBecomesStuckOrQuarantinedIsNotifiedOnceEach() {
        run(hourly("parked", "noop"), ctx -> {});
        new NotificationRepository(pool)
                .configure("parked", new TaskNotify(List.of("STUCK", "QUARANTINED"), webhook(), "json"), false);
        notifying(3, settings(null));
        // As the engine marks them (markStuck, the quarantine rule), here straight in the row.
        await().atMost(Timing.SOON)
                .until(() -> count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        count("with u as (update tasks set stuck_since = now(), quarantined_at = now()"
                + " where name = 'parked' returning 1) select count(*) from u");

        await().atMost(Timing.SOON).until(() -> received.size() == 2);
        Timing.holdsFor(Duration.ofSeconds(2)).until(() -> received.size() == 2);
        assertThat(received).anyMatch(r -> r.contains("\"event\":\"STUCK\""));
        assertThat(received).anyMatch(r -> r.contains("\"event\":\"QUARANTINED\""));
    }

    @Test
    void notifyAsConfigurationFilesWriteIt() {
        // Spring binds a list into a map keyed 0, 1…; events in any case, - for _.
        TaskNotify n = TaskNotify.parse(
                Map.of("on", Map.of("0", "failed", "1", "timed-out"), "webhook", "${OPS_WEBHOOK}"), List.of());
        assertThat(n.events()).containsExactlyInAnyOrder("FAILED", "TIMED_OUT");
        assertThat(n.webhook()).isEqualTo("${OPS_WEBHOOK}");
        assertThat(n.format()).isEqualTo("json");
        assertThat(TaskNotify.parse(Map.of("webhook", "https://x.example/h"), List.of("FAILED"))
                        .events())
                .containsExactly("FAILED");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TaskNotify.parse(Map.of("on", "EXPLODED"), List.of()))
                .hasMessageContaining("unknown event 'EXPLODED'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TaskNotify.parse(Map.of("onn", "FAILED"), List.of()))
                .hasMessageContaining("unknown key 'onn'");
    }

    @Test
    void aConfigurationFilesNotifyIsReadAsWrittenInYaml() throws IOException {
        String yaml = """
                starpets:
                  tasks:
                    - name: export
                      handler: sleep
                      notify: { "on": [FAILED, RECOVERED], webhook: "${OPS_WEBHOOK}", format: slack }
                    - name: quiet
                      handler: sleep
                """;
        var environment = environment(yaml);
        TaskSecrets secrets = TaskSecrets.parse(List.of("OPS_WEBHOOK"), () -> Map.of("OPS_WEBHOOK", webhook()));

        Map<String, TaskNotify> configured =
                NotifyDuty.configured(environment, settings(null), new WebhookPost(secrets, HttpDestinations.NONE));

        // The placeholder is kept, never its value; a task without notify has none.
        assertThat(configured)
                .containsOnlyKeys("export")
                .containsEntry("export", new TaskNotify(List.of("FAILED", "RECOVERED"), "${OPS_WEBHOOK}", "slack"));
    }

    @Test
    void anApiTasksWebhookIsFencedWhenSentToo() {
        WebhookPost post = new WebhookPost(TaskSecrets.NONE, HttpDestinations.NONE);
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);

        // Written before STARPETS_HTTP_ALLOWED_DESTINATIONS closed, or a name now resolving inward: refused at the
        // socket.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> post.post(webhook(), true, body, ATTEMPT))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("STARPETS_HTTP_ALLOWED_DESTINATIONS")
                .hasMessageNotContaining("secret-path");
        assertThat(received).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> post.check(webhook(), true))
                .hasMessageContaining("STARPETS_HTTP_ALLOWED_DESTINATIONS");
        // The operator's own (a configuration task's, NOTIFY_WEBHOOK_URL) reach anything.
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> post.post(webhook(), false, body, ATTEMPT)))
                .isNull();
        assertThat(received).hasSize(1);
    }

    @Test
    void eachMissedRunIsNotifiedOnce() {
        TaskDefinition everySecond = TaskDefinition.of(
                        "every-second", "noop", "* * * * * *", "UTC", Duration.ofMinutes(1), true, Map.of())
                .withMisfire(
                        new MisfirePolicy(MisfirePolicy.Kind.SKIP, Duration.ofMillis(200), 10, Duration.ofHours(1)));
        // Five slots passed while nobody ran it.
        run(
                everySecond,
                ctx -> {},
                () -> count("with u as (update tasks"
                        + " set next_run_at = date_trunc('second', now()) - interval '5 seconds',"
                        + " next_fire_at = date_trunc('second', now()) - interval '5 seconds'"
                        + " returning 1) select count(*) from u"));
        new NotificationRepository(pool)
                .configure("every-second", new TaskNotify(List.of("MISSED"), webhook(), "json"), false);
        notifying(3, settings(null));

        await().atMost(Timing.SOON).until(() -> count("select count(*) from task_runs where status = 'MISSED'") >= 4);
        await().atMost(Timing.SOON)
                .until(() -> received.size() == count("select count(*) from task_runs where status = 'MISSED'"));
        // On a loaded machine a late claim may miss one more slot meanwhile: then its notification follows.
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(
                                count("select count(*) from notifications n join task_runs r on r.id = n.run_id"
                                        + " where r.status = 'MISSED' and n.event = 'MISSED' and n.state = 'SENT'"))
                        .isEqualTo(count("select count(*) from task_runs where status = 'MISSED'")));
        assertThat(count("select count(*) - count(distinct run_id) from notifications"))
                .isZero();
        assertThat(received).allMatch(r -> r.contains("\"event\":\"MISSED\""));
    }

    @Test
    void theWebhookIsShownAndLoggedAsSchemeAndHostOnly() {
        assertThat(WebhookPost.masked("https://user:pw@hooks.slack.com/services/T0/B0/XXXX?x=1"))
                .isEqualTo("https://hooks.slack.com/…");
        assertThat(WebhookPost.masked(webhook()))
                .isEqualTo("http://127.0.0.1:" + receiver.getAddress().getPort() + "/…");
    }

    /** A Slack webhook's shape: its path is the secret. */
    private static final String SLACK_PATH = "/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

    @Test
    void aWebhookCarryingACredentialInClearIsRefusedUnlessTheSecretIsAPlaceholder() {
        assertThat(SecretInClear.where("https://hooks.slack.com/services" + SLACK_PATH))
                .isEqualTo("a path segment that looks like a token");
        assertThat(SecretInClear.where("https://discord.com/api/webhooks/123/AbCdEf-0123456789_ghijklmnop"))
                .isEqualTo("a path segment that looks like a token");
        assertThat(SecretInClear.where("https://ops:hunter2@hooks.example.com/notify"))
                .isEqualTo("user information");
        // A token may be the user name alone: user information is placeholders or nothing.
        assertThat(SecretInClear.where("https://ops:${HOOK_PASSWORD}@hooks.example.com/notify"))
                .isEqualTo("user information");
        assertThat(SecretInClear.where("https://hooks.example.com/notify?token=abc"))
                .isEqualTo("a query string");
        assertThat(SecretInClear.where("https://hooks.example.com/notify?verbose"))
                .isEqualTo("a query string");
        // The secret part as ${NAME}, or a path of lowercase words, short segments, a bare host: accepted.
        for (String accepted : List.of(
                "${OPS_WEBHOOK}",
                "https://hooks.slack.com/services/${SLACK_PATH}",
                "https://hooks.slack.com/services/T00000000/B00000000/${SLACK_TOKEN}",
                "https://${HOOK_CREDENTIALS}@hooks.example.com/notify",
                "https://${HOOK_USER}:${HOOK_PASSWORD}@hooks.example.com/notify",
                "https://hooks.example.com/notify?token=${HOOK_TOKEN}&key=${HOOK_KEY}",
                "https://hooks.example.com/starpets/notifications-webhook",
                "https://hooks.example.com/api/v2/T000/B000/hook",
                "http://127.0.0.1:8080/")) {
            assertThat(SecretInClear.where(accepted)).as(accepted).isNull();
        }
    }

    @Test
    void aConfigurationTasksWebhookWithACredentialInClearStopsTheStartNamingTheTaskAndTheKey() throws IOException {
        String yaml = """
                starpets:
                  tasks:
                    - name: export
                      handler: sleep
                      notify: { "on": [FAILED], webhook: "https://hooks.slack.com/services%s" }
                """.formatted(SLACK_PATH);
        var environment = environment(yaml);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NotifyDuty.configured(
                        environment, settings(null), new WebhookPost(TaskSecrets.NONE, HttpDestinations.NONE)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Task 'export': notify.webhook carries a credential in clear")
                .hasMessageContaining("${NAME}")
                .hasMessageNotContaining("XXXXXXXX");
    }

    @Test
    void aPlaceholderWebhookIsAcceptedAndSentAndNeitherItNorTheDefaultWebhookIsStoredResolved() {
        String secretWebhook = webhook() + SLACK_PATH;
        TaskSecrets secrets = TaskSecrets.parse(List.of("OPS_WEBHOOK"), () -> Map.of("OPS_WEBHOOK", secretWebhook));
        // As for a task created over the API: its webhook may go to the receiver only once allowed.
        WebhookPost post = new WebhookPost(
                secrets,
                HttpDestinations.parse(
                        List.of("127.0.0.1:" + receiver.getAddress().getPort())));
        // The service-wide default, a setting: may be written in clear, as Slack gives it.
        NotifySettings settings = settings(webhook() + "/T11111111/B11111111/YYYYYYYYYYYYYYYYYYYYYYYY");
        NotificationRepository repository = new NotificationRepository(pool);
        TaskNotifications notifications = new TaskNotifications(repository, post, settings);

        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> notifications.checked(Map.of("on", List.of("FAILED"), "webhook", secretWebhook)))
                .isInstanceOf(SecretInClear.class);
        TaskNotify own = notifications.checked(Map.of("on", List.of("FAILED"), "webhook", "${OPS_WEBHOOK}"));
        run(hourly("placeholder", "boom"), ctx -> {
            throw new IllegalStateException("boom");
        });
        run(hourly("defaulted", "boom"), ctx -> {
            throw new IllegalStateException("boom");
        });
        notifications.configure("placeholder", own);
        notifying(1, settings, post);

        await().atMost(Timing.SOON).until(() -> received.size() == 2);
        assertThat(received)
                .anySatisfy(r -> assertThat(r).contains("\"task\":\"placeholder\""))
                .anySatisfy(r -> assertThat(r).contains("\"task\":\"defaulted\""));
        assertThat(count("select count(*) from task_notify where webhook = '${OPS_WEBHOOK}'"))
                .isEqualTo(1);
        // Neither the task's resolved webhook nor the default is in any row the notifications write.
        for (String table : List.of("task_notify", "notifications")) {
            assertThat(count("select count(*) from " + table + " t where t::text like '%secret-path%'"))
                    .as(table)
                    .isZero();
        }
        // The receiver records a request before the sender's answer arrives and its row is marked SENT.
        await().atMost(Timing.SOON).until(() -> count("select count(*) from notifications where state = 'SENT'") == 2);
    }
}
