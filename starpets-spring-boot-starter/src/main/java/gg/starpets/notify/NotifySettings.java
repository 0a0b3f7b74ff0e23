package gg.starpets.notify;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The notifications' settings ({@code starpets.notify} in application.yml, where the defaults are).
 *
 * @param webhookUrl the service-wide webhook: used by tasks whose {@code notify} names none, and by tasks
 *     that say nothing ({@code NOTIFY_WEBHOOK_URL}); empty: those are not notified. Never logged or shown
 *     but as scheme and host
 * @param on the events of tasks that say nothing
 * @param format {@code json} or {@code slack}, for the service-wide webhook
 * @param consoleUrl the console's address as people reach it, for the link in each notification; empty:
 *     the link is relative ({@code /ui/#/task/<name>})
 * @param interval how often each instance scans for events and sends what is due
 * @param timeout how long one attempt may take (connect, send, answer)
 * @param maxAttempts attempts before a notification is given up (kept, shown GIVEN_UP)
 * @param initialBackoff the pause after the first failed attempt, doubled after each next one…
 * @param maxBackoff …up to this
 */
@ConfigurationProperties("starpets.notify")
public record NotifySettings(
        String webhookUrl,
        List<String> on,
        String format,
        String consoleUrl,
        Duration interval,
        Duration timeout,
        int maxAttempts,
        Duration initialBackoff,
        Duration maxBackoff) {

    public NotifySettings {
        // Unset (an application without the service's application.yml: a library user's): the defaults
        // application.yml gives (LibraryDefaultsTest holds them equal).
        on = on == null ? List.of("FAILED", "TIMED_OUT", "STUCK", "QUARANTINED") : on;
        format = format == null ? "json" : format;
        interval = interval == null ? Duration.ofSeconds(5) : interval;
        timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
        maxAttempts = maxAttempts > 0 ? maxAttempts : 8;
        initialBackoff = initialBackoff == null ? Duration.ofSeconds(10) : initialBackoff;
        maxBackoff = maxBackoff == null ? Duration.ofMinutes(30) : maxBackoff;
        webhookUrl = webhookUrl == null || webhookUrl.isBlank() ? null : webhookUrl.strip();
        consoleUrl = consoleUrl == null ? "" : consoleUrl.strip().replaceAll("/+$", "");
        // Checked as a task's are: a bad event or format stops the start.
        // An ArrayList as Spring binds one from a comma-separated text (SettingsAgreementTest compares them).
        on = new ArrayList<>(new TaskNotify(TaskNotify.events(on), null, format).events());
        format = new TaskNotify(List.of(), null, format).format();
        for (Duration d : List.of(interval, timeout, initialBackoff, maxBackoff)) {
            if (d == null || !d.isPositive()) {
                throw new IllegalArgumentException("starpets.notify: interval, timeout and back-offs must be positive");
            }
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("starpets.notify.max-attempts must be at least 1");
        }
    }

    /** The pause after attempt {@code attempts} failed: doubling from the initial back-off, capped. */
    Duration backoff(int attempts) {
        Duration d = initialBackoff;
        for (int i = 1; i < attempts && d.compareTo(maxBackoff) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }

    /** These settings with another attempt time. */
    NotifySettings withTimeout(Duration attempt) {
        return new NotifySettings(
                webhookUrl, on, format, consoleUrl, interval, attempt, maxAttempts, initialBackoff, maxBackoff);
    }

    /** The link to a task's page in the console. */
    String taskPage(String task) {
        return consoleUrl + "/ui/#/task/" + java.net.URLEncoder.encode(task, java.nio.charset.StandardCharsets.UTF_8);
    }
}
