package gg.starpets.notify;

import gg.starpets.config.PeriodicDuty;
import gg.starpets.handlers.WebhookPost;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Per-task notifications, on one thread ({@value #THREAD_NAME}) of every instance, every
 * {@code starpets.notify.interval}: the configuration files' {@code notify} written to the database
 * (until every task they name exists), the events since the last scan recorded
 * ({@link NotificationRepository#scan}), then what is due sent ({@link NotificationSender}).
 */
@Component
class NotifyDuty extends PeriodicDuty {

    static final String THREAD_NAME = "starpets-notify";

    private static final Logger log = LoggerFactory.getLogger(NotifyDuty.class);

    private static final Bindable<List<Map<String, Object>>> WRITTEN = Bindable.of(ResolvableType.forClassWithGenerics(
            List.class, ResolvableType.forClassWithGenerics(Map.class, String.class, Object.class)));

    private final NotificationRepository repository;
    private final NotificationSender sender;
    private final NotifySettings settings;
    private Map<String, TaskNotify> configured;

    NotifyDuty(
            NotificationRepository repository,
            NotifySettings settings,
            WebhookPost post,
            Environment environment,
            MeterRegistry registry) {
        super(THREAD_NAME);
        this.repository = repository;
        this.settings = settings;
        this.sender = new NotificationSender(repository, post, settings, registry);
        this.configured = configured(environment, settings, post);
    }

    /**
     * The {@code notify} of each configuration task, as written ({@code ${NAME}} kept); an invalid one
     * stops the start, as any invalid task does, and so does a webhook with a credential in clear
     * ({@link SecretInClear}): it would be stored as written.
     */
    static Map<String, TaskNotify> configured(Environment environment, NotifySettings settings, WebhookPost post) {
        List<Map<String, Object>> written = new Binder(ConfigurationPropertySources.get(environment))
                .bind("starpets.tasks", WRITTEN)
                .orElse(List.of());
        Map<String, TaskNotify> byTask = new LinkedHashMap<>();
        for (Map<String, Object> task : written) {
            Object notify = task.get("notify");
            if (notify != null) {
                String name = String.valueOf(task.get("name"));
                try {
                    TaskNotify n = TaskNotify.parse(notify, settings.on());
                    if (n.webhook() != null) {
                        SecretInClear.check("notify.webhook", n.webhook());
                        post.check(n.webhook(), false);
                    }
                    byTask.put(name, n);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("Task '" + name + "': " + e.getMessage(), e);
                }
            }
        }
        return byTask;
    }

    @Override
    protected void runOnce() {
        try {
            if (configured != null) {
                List<String> missing = repository.syncConfigured(configured);
                configured = missing.isEmpty() ? null : configured;
            }
            repository.scan(settings.on(), settings.webhookUrl() != null);
            sender.sendDue();
        } catch (RuntimeException e) {
            // The database may be away: the next round tries again; nothing was half-written (one statement each).
            log.warn("Notifications: {}", e.toString());
        }
    }

    @Override
    protected Duration initialDelay() {
        return settings.interval();
    }

    @Override
    protected Duration interval() {
        return settings.interval();
    }
}
