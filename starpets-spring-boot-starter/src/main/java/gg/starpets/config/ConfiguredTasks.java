package gg.starpets.config;

import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.scheduler.MisfirePolicy;
import gg.starpets.scheduler.RetryPolicy;
import gg.starpets.scheduler.TaskDefinition;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.ResolvableType;
import org.springframework.core.env.Environment;

/**
 * The tasks of the configuration files, checked before anything is written: their keys (one that
 * nothing reads is a mistake), schedule, timeout, handler and params. An invalid one stops the start
 * with a message naming it.
 *
 * <p>Params are read as written: {@code ${NAME}} in a param is the handler's to replace at run time
 * from the environment, so Spring must not replace it at start-up (the secret would land in the
 * database). Lists, which Spring binds into a {@code Map<String, Object>} as maps keyed "0", "1"…,
 * become lists again.
 */
final class ConfiguredTasks {

    /** Each task as written: every key, to check them all and to read {@code params} as written. */
    private static final Bindable<List<Map<String, Object>>> WRITTEN = Bindable.of(ResolvableType.forClassWithGenerics(
            List.class, ResolvableType.forClassWithGenerics(Map.class, String.class, Object.class)));

    /**
     * The keys a task may have, and those of its {@code retry}: the components of what binds them, and
     * {@code notify}, which the notify package reads (a record may not have a component of that name).
     */
    private static final Map<String, String> KEYS = keys(StarPetsProperties.TaskDefinition.class, "notify");

    private static final Map<String, String> RETRY_KEYS = keys(StarPetsProperties.Retry.class);

    private static final Map<String, String> RUN_AFTER_KEYS = keys(StarPetsProperties.RunAfter.class);

    private static final Map<String, String> GROUP_KEYS = keys(StarPetsProperties.Group.class);

    /** Each group as written ({@code starpets.groups.<name>}): every key, to check them all. */
    private static final Bindable<Map<String, Map<String, Object>>> WRITTEN_GROUPS =
            Bindable.of(ResolvableType.forClassWithGenerics(
                    Map.class,
                    ResolvableType.forClass(String.class),
                    ResolvableType.forClassWithGenerics(Map.class, String.class, Object.class)));

    private ConfiguredTasks() {}

    /** Refuses a key of a configured group that nothing reads ({@code max-concurent: 2} would be no limit). */
    static void checkGroupKeys(Environment environment) {
        new Binder(ConfigurationPropertySources.get(environment))
                .bind("starpets.groups", WRITTEN_GROUPS)
                .orElse(Map.of())
                .forEach((group, written) -> {
                    for (String key : written.keySet()) {
                        if (!GROUP_KEYS.containsKey(relaxed(key))) {
                            throw new IllegalStateException("starpets.groups." + group + ": unknown key '" + key
                                    + "' (known: " + String.join(", ", new TreeSet<>(GROUP_KEYS.values())) + ")");
                        }
                    }
                });
    }

    static List<TaskDefinition> read(StarPetsProperties properties, Environment environment, HandlerRegistry handlers) {
        // No placeholder resolution: values as the configuration files and variables wrote them.
        List<Map<String, Object>> written = new Binder(ConfigurationPropertySources.get(environment))
                .bind("starpets.tasks", WRITTEN)
                .orElse(List.of());
        List<TaskDefinition> definitions = new ArrayList<>();
        for (int i = 0; i < properties.tasks().size(); i++) {
            var t = properties.tasks().get(i);
            if (i < written.size()) {
                checkKeys(t.name(), written.get(i), KEYS, "");
                if (written.get(i).get("retry") instanceof Map<?, ?> retry) {
                    checkKeys(t.name(), retry, RETRY_KEYS, "retry.");
                }
                written.get(i).forEach((key, value) -> {
                    if (relaxed(key).equals("runafter")) {
                        checkRunAfter(t.name(), value);
                    }
                });
            }
            Map<String, Object> params =
                    i < written.size() && written.get(i).get("params") instanceof Map<?, ?> p ? lists(p) : Map.of();
            TaskDefinition definition = policies(
                    t,
                    TaskDefinition.of(
                            t.name(),
                            t.handler(),
                            // Only a run-after: a task that runs after its upstream, with no schedule of its own.
                            t.schedule() == null && t.runAfter() != null ? "once" : t.schedule(),
                            t.timeZone(),
                            t.timeout(),
                            t.enabled(),
                            params));
            handlers.checkConfigured(definition);
            definitions.add(definition);
        }
        return definitions;
    }

    /** Retries, misfires, jitter, start-at, overlap (with max-concurrent), cost, priority, concurrency group and a one-time task's at as configured; the defaults where a key is absent. */
    private static TaskDefinition policies(StarPetsProperties.TaskDefinition t, TaskDefinition definition) {
        MisfirePolicy defaults = MisfirePolicy.DEFAULT;
        try {
            RetryPolicy retry = t.retry() == null
                    ? null
                    : RetryPolicy.of(
                            t.retry().maxAttempts(),
                            t.retry().initialBackoff(),
                            t.retry().multiplier(),
                            t.retry().maxBackoff());
            return definition
                    .withRetry(retry)
                    .withMisfire(new MisfirePolicy(
                            MisfirePolicy.kind(t.misfire()),
                            t.misfireThreshold() == null ? defaults.threshold() : t.misfireThreshold(),
                            t.catchUpLimit() == null ? defaults.catchUpLimit() : t.catchUpLimit(),
                            t.catchUpWindow() == null ? defaults.catchUpWindow() : t.catchUpWindow()))
                    .withJitter(t.jitter())
                    .withRunAfter(
                            t.runAfter() == null
                                    ? null
                                    : TaskDefinition.RunAfter.of(
                                            t.name(),
                                            t.runAfter().task(),
                                            t.runAfter().when()))
                    .withFirstRun(
                            TaskDefinition.startAt(t.name(), "start-at", t.startAt()),
                            TaskDefinition.startAt(t.name(), "at", t.at()))
                    .withOverlap(TaskDefinition.Overlap.of(t.name(), t.overlap()), t.maxConcurrent())
                    .withCost(t.cost() == null ? 1 : t.cost())
                    .withPriority(t.priority() == null ? 0 : t.priority())
                    .withConcurrencyGroup(t.concurrencyGroup());
        } catch (TaskDefinition.InvalidTaskException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new TaskDefinition.InvalidTaskException(t.name(), e.getMessage());
        }
    }

    /**
     * Refuses a key nobody reads ({@code misfre: SKIP} would leave the default misfire policy and say
     * nothing), in any of the spellings Spring binds ({@code time-zone}, {@code timeZone},
     * {@code time_zone}): a YAML key read as another type ({@code on:} is {@code true}) is named as
     * read.
     */
    private static void checkKeys(String task, Map<?, ?> written, Map<String, String> known, String prefix) {
        for (Object key : written.keySet()) {
            if (!known.containsKey(relaxed(String.valueOf(key)))) {
                throw new TaskDefinition.InvalidTaskException(
                        task,
                        "unknown key '" + prefix + key + "' (known: " + String.join(", ", new TreeSet<>(known.values()))
                                + ")");
            }
        }
    }

    /** Refuses a run-after written as a list (fan-in) and one with keys other than task and when. */
    private static void checkRunAfter(String task, Object written) {
        if (written instanceof Map<?, ?> map && !map.isEmpty() && map.containsKey("0")) {
            throw new TaskDefinition.InvalidTaskException(task, TaskDefinition.RunAfter.NO_FAN_IN);
        }
        if (written instanceof Map<?, ?> map) {
            checkKeys(task, map, RUN_AFTER_KEYS, "run-after.");
        }
    }

    /** The relaxed forms of the components of {@code type}, each with its kebab-case name. */
    private static Map<String, String> keys(Class<? extends Record> type, String... more) {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String key : more) {
            keys.put(relaxed(key), key);
        }
        for (RecordComponent c : type.getRecordComponents()) {
            keys.put(
                    relaxed(c.getName()),
                    c.getName().replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT));
        }
        return keys;
    }

    private static String relaxed(String key) {
        return key.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
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
