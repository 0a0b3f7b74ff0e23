package gg.starpets.config;

import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.scheduler.TaskDefinition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.Environment;

/**
 * The tasks of the configuration files, checked before anything is written: schedule, timeout,
 * handler and params. An invalid one stops the start with a message naming it.
 *
 * <p>Params are read as written: {@code ${NAME}} in a param is the handler's to replace at run time
 * from the environment, so Spring must not replace it at start-up (the secret would land in the
 * database). Lists, which Spring binds into a {@code Map<String, Object>} as maps keyed "0", "1"…,
 * become lists again.
 */
final class ConfiguredTasks {

    /** Each task as written: every key, of which only {@code params} is read. */
    private static final Bindable<List<Map<String, Object>>> WRITTEN = Bindable.of(ResolvableType.forClassWithGenerics(
            List.class, ResolvableType.forClassWithGenerics(Map.class, String.class, Object.class)));

    private ConfiguredTasks() {}

    static List<TaskDefinition> read(StarPetsProperties properties, Environment environment, HandlerRegistry handlers) {
        // No placeholder resolution: values as the configuration files and variables wrote them.
        List<Map<String, Object>> written = new Binder(ConfigurationPropertySources.get(environment))
                .bind("starpets.tasks", WRITTEN)
                .orElse(List.of());
        List<TaskDefinition> definitions = new ArrayList<>();
        for (int i = 0; i < properties.tasks().size(); i++) {
            var t = properties.tasks().get(i);
            Map<String, Object> params =
                    i < written.size() && written.get(i).get("params") instanceof Map<?, ?> p ? lists(p) : Map.of();
            TaskDefinition definition = policies(
                    t,
                    TaskDefinition.of(
                            t.name(), t.handler(), t.schedule(), t.timeZone(), t.timeout(), t.enabled(), params));
            handlers.checkConfigured(definition);
            definitions.add(definition);
        }
        return definitions;
    }

    /** Retries, misfires, jitter and start-at as configured; the defaults where a key is absent. */
    private static TaskDefinition policies(StarPetsProperties.TaskDefinition t, TaskDefinition definition) {
        TaskDefinition.MisfirePolicy defaults = TaskDefinition.MisfirePolicy.DEFAULT;
        try {
            TaskDefinition.RetryPolicy retry = t.retry() == null
                    ? null
                    : TaskDefinition.RetryPolicy.of(
                            t.retry().maxAttempts(),
                            t.retry().initialBackoff(),
                            t.retry().multiplier(),
                            t.retry().maxBackoff());
            return definition
                    .withRetry(retry)
                    .withMisfire(new TaskDefinition.MisfirePolicy(
                            TaskDefinition.MisfirePolicy.kind(t.misfire()),
                            t.misfireThreshold() == null ? defaults.threshold() : t.misfireThreshold(),
                            t.catchUpLimit() == null ? defaults.catchUpLimit() : t.catchUpLimit(),
                            t.catchUpWindow() == null ? defaults.catchUpWindow() : t.catchUpWindow()))
                    .withJitter(t.jitter())
                    .withStartAt(TaskDefinition.startAt(t.name(), "start-at", t.startAt()));
        } catch (TaskDefinition.InvalidTaskException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new TaskDefinition.InvalidTaskException(t.name(), e.getMessage());
        }
    }

    /** Turns maps keyed "0", "1"… (how Spring binds a list into an Object) back into lists, at any depth. */
    static Map<String, Object> lists(Map<?, ?> params) {
        Map<String, Object> result = new LinkedHashMap<>();
        params.forEach((key, value) -> result.put(key.toString(), list(value)));
        return result;
    }

    private static Object list(Object value) {
        if (!(value instanceof Map<?, ?> map)) {
            return value;
        }
        boolean indexed = !map.isEmpty();
        for (int i = 0; i < map.size() && indexed; i++) {
            indexed = map.containsKey(String.valueOf(i));
        }
        if (indexed) {
            List<Object> list = new ArrayList<>();
            for (int i = 0; i < map.size(); i++) {
                list.add(list(map.get(String.valueOf(i))));
            }
            return list;
        }
        Map<String, Object> nested = new LinkedHashMap<>();
        map.forEach((k, v) -> nested.put(k.toString(), list(v)));
        return nested;
    }
}
