package gg.starpets.notify;

import gg.starpets.handlers.WebhookPost;
import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Sends the due notifications: claims them ({@code for update skip locked}, so any instance may send
 * and none sends one another holds), posts each, then records it sent, or due again after a back-off,
 * or given up. On the notify duty's own thread: never on a run's thread, never inside a run's
 * transaction; a receiver that fails or hangs delays only the next notifications.
 */
class NotificationSender {

    private static final Logger log = LoggerFactory.getLogger(NotificationSender.class);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Claimed at once, at most: each is held for an attempt's time while the others wait their turn. */
    static final int BATCH = 10;

    private final NotificationRepository repository;
    private final WebhookPost post;
    private final NotifySettings settings;
    private final Counter sent;
    private final Counter failed;

    NotificationSender(
            NotificationRepository repository, WebhookPost post, NotifySettings settings, MeterRegistry registry) {
        this.repository = repository;
        this.post = post;
        this.settings = settings;
        this.sent = Counter.builder(MetricNames.NOTIFICATIONS_SENT)
                .description("Notifications this instance delivered (answered 2xx)")
                .register(registry);
        this.failed = Counter.builder(MetricNames.NOTIFICATIONS_FAILED)
                .description("Attempts of this instance to send a notification that failed (each retry counts)")
                .register(registry);
    }

    /** Sends what is due, batch after batch; returns how many attempts were made. */
    int sendDue() {
        int attempts = 0;
        // Bounded: a batch's rows are held past this pass, so the loop ends when nothing is due.
        for (int round = 0; round < 100; round++) {
            // Held for all the batch's attempts, one after another, and a margin.
            List<NotificationRepository.Due> due =
                    repository.claimDue(BATCH, settings.timeout().multipliedBy(BATCH + 1));
            for (NotificationRepository.Due d : due) {
                send(d);
                attempts++;
            }
            if (due.size() < BATCH) {
                break;
            }
        }
        return attempts;
    }

    private void send(NotificationRepository.Due d) {
        String webhook = d.webhook() != null ? d.webhook() : settings.webhookUrl();
        if (webhook == null) {
            repository.markFailed(
                    d.id(), "no webhook: the task names none and NOTIFY_WEBHOOK_URL is not set", 0, Duration.ZERO);
            failed.increment();
            return;
        }
        String format = d.webhook() != null ? d.format() : settings.format();
        String error;
        try {
            int status = post.post(webhook, d.webhook() != null && d.fromApi(), body(d, format), settings.timeout());
            if (status >= 200 && status < 300) {
                repository.markSent(d.id(), "HTTP " + status);
                sent.increment();
                return;
            }
            error = "HTTP " + status;
        } catch (Exception e) {
            error = e.getMessage();
        }
        failed.increment();
        Duration backoff = settings.backoff(d.attempts());
        repository.markFailed(d.id(), error, settings.maxAttempts(), backoff);
        log.warn(
                "Notification {} ({} of task {}) to {} failed, attempt {} of {}: {}",
                d.id(),
                d.event(),
                d.task(),
                WebhookPost.masked(webhook),
                d.attempts(),
                settings.maxAttempts(),
                error);
    }

    /** The payload (docs/notifications.md): the event as JSON, or Slack's {@code {"text": "…"}}. */
    byte[] body(NotificationRepository.Due d, String format) {
        Map<String, Object> body = new LinkedHashMap<>();
        if ("slack".equals(format)) {
            body.put("text", text(d));
        } else {
            body.put("event", d.event());
            body.put("task", d.task());
            body.put("runId", d.runId());
            body.put("status", d.status());
            body.put("error", d.error());
            body.put(
                    "scheduledFor",
                    d.scheduledFor() == null
                            ? null
                            : d.scheduledFor().toInstant().toString());
            body.put("occurredAt", d.occurredAt().toInstant().toString());
            body.put("instance", d.instanceId());
            body.put("link", settings.taskPage(d.task()));
            body.put("notificationId", d.id());
        }
        return JSON.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
    }

    private String text(NotificationRepository.Due d) {
        StringBuilder t = new StringBuilder("StarPets: task ").append(d.task()).append(' ');
        t.append(
                NotifyEvent.NAMES.contains(d.event())
                        ? NotifyEvent.valueOf(d.event()).phrase()
                        : d.event());
        if (d.runId() != null) {
            t.append(" (run ").append(d.runId()).append(')');
        }
        if (d.error() != null && !NotifyEvent.RECOVERED.name().equals(d.event())) {
            t.append(": ").append(d.error().length() > 300 ? d.error().substring(0, 300) + "…" : d.error());
        }
        return t.append(" <").append(settings.taskPage(d.task())).append('>').toString();
    }
}
