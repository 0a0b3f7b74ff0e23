package gg.starpets.notify;

import gg.starpets.handlers.WebhookPost;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * A task's notifications as the API sets and shows them: its {@code notify} checked as a task created
 * over the API may have it (its webhook fenced as that task's http requests are), and what was sent,
 * the webhook masked.
 */
@Component
public class TaskNotifications {

    /**
     * What a task is notified of, as shown: its own settings or the service-wide default ({@code source}
     * {@code task} or {@code default}); {@code webhook} masked to scheme and host.
     */
    public record Settings(List<String> on, String webhook, String format, String source) {}

    /** {@code settings}: null when the task is notified of nothing. */
    public record View(Settings settings, List<NotificationRepository.Sent> notifications) {}

    private final NotificationRepository repository;
    private final WebhookPost post;
    private final NotifySettings settings;

    TaskNotifications(NotificationRepository repository, WebhookPost post, NotifySettings settings) {
        this.repository = repository;
        this.post = post;
        this.settings = settings;
    }

    /**
     * A {@code notify} of a request's body, checked; throws {@link IllegalArgumentException} saying what
     * is wrong ({@link SecretInClear} when its webhook carries a credential in clear), nothing written then.
     */
    public TaskNotify checked(Object written) {
        TaskNotify notify = TaskNotify.parse(written, settings.on());
        if (notify.webhook() != null) {
            SecretInClear.check("notify.webhook", notify.webhook());
            post.check(notify.webhook(), true);
        } else if (settings.webhookUrl() == null && !notify.events().isEmpty()) {
            throw new IllegalArgumentException(
                    "notify.webhook is required: the service has no default webhook (NOTIFY_WEBHOOK_URL)");
        }
        return notify;
    }

    /** Sets the notify of a task created over the API; null: the service-wide default again. */
    public void configure(String task, TaskNotify notify) {
        repository.configure(task, notify, true);
    }

    /** {@link #configure(String, TaskNotify)} in the caller's transaction (the task's create or update) on {@code c}. */
    public void configure(Connection c, String task, TaskNotify notify) throws SQLException {
        repository.configure(c, task, notify, true);
    }

    public View view(String task, int limit) {
        TaskNotify own = repository.find(task);
        Settings shown;
        if (own != null) {
            String webhook = own.webhook() != null ? own.webhook() : settings.webhookUrl();
            shown = new Settings(own.events(), WebhookPost.masked(webhook), own.format(), "task");
        } else if (settings.webhookUrl() != null) {
            shown = new Settings(
                    settings.on(), WebhookPost.masked(settings.webhookUrl()), settings.format(), "default");
        } else {
            shown = null;
        }
        return new View(shown, repository.list(task, limit));
    }
}
