package gg.starpets.config;

import gg.starpets.scheduler.SchedulerSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Every StarPets setting. Each default is written once: in {@code application.yml}, next to the
 * environment variable that overrides it, or, where that file's fallback is empty, in Java (the
 * engine's in {@link SchedulerSettings}, the rest in {@link Scheduler}). The README's configuration
 * table lists them all; {@code SettingsAgreementTest} holds the three in agreement.
 */
@ConfigurationProperties("starpets")
public record StarPetsProperties(
        String instanceId,
        Db db,
        Scheduler scheduler,
        List<TaskDefinition> tasks,
        Handlers handlers,
        Witness witness,
        Map<String, Group> groups) {

    public StarPetsProperties {
        db = db == null
                ? new Db(null, 0, null, null, null, 0, 0, null, null, 0, null, 0, null, null, null, null, 0, null)
                : db;
        scheduler = scheduler == null
                ? new Scheduler(null, null, null, null, null, null, null, null, null, null, null, null, null)
                : scheduler;
        tasks = tasks == null ? List.of() : List.copyOf(tasks);
        handlers = handlers == null ? new Handlers(List.of(), Map.of(), List.of(), List.of()) : handlers;
        groups = groups == null ? Map.of() : Map.copyOf(groups);
    }

    /**
     * A concurrency group's limits ({@code starpets.groups.<name>}): {@code max-concurrent} runs of its
     * tasks at once across all instances, {@code max-starts} starts per window ({@code "10/1m"}); either
     * absent: no such limit (scheduler.GroupRepository).
     */
    public record Group(Integer maxConcurrent, String maxStarts) {}

    /** This instance's id: as configured, or derived from the host when nothing is configured. */
    public String resolvedInstanceId() {
        return instanceId == null || instanceId.isBlank() ? InstanceIdentity.resolve(Map.of()) : instanceId.strip();
    }

    /**
     * The database and the roles the service connects as: {@code user} at run time, {@code ownerUser} for
     * the migrations (the schema's owner), {@code sqlUser} for {@code sql} tasks (docs/security.md).
     */
    public record Db(
            String host,
            int port,
            String name,
            String user,
            String password,
            int poolSize,
            int schedulerPoolSize,
            Duration connectionTimeout,
            Path embeddedDir,
            int embeddedPort,
            String sessionHost,
            int sessionPort,
            String ownerUser,
            String ownerPassword,
            String sqlUser,
            String sqlPassword,
            int sqlPoolSize,
            String schema) {

        /** What a schema name may be: a plain identifier, unquoted, as PostgreSQL folds it. */
        private static final java.util.regex.Pattern PLAIN_IDENTIFIER =
                java.util.regex.Pattern.compile("[a-z_][a-z0-9_]{0,62}");

        public Db {
            // Unset (an application without the service's application.yml: a library user's): the defaults
            // application.yml gives (LibraryDefaultsTest holds them equal).
            name = name == null || name.isBlank() ? "starpets" : name;
            port = port > 0 ? port : 5432;
            user = user == null || user.isBlank() ? "starpets_app" : user;
            ownerUser = ownerUser == null || ownerUser.isBlank() ? "starpets_owner" : ownerUser;
            sqlUser = sqlUser == null || sqlUser.isBlank() ? "starpets_sql" : sqlUser;
            poolSize = poolSize > 0 ? poolSize : 20;
            schedulerPoolSize = schedulerPoolSize > 0 ? schedulerPoolSize : 4;
            sqlPoolSize = sqlPoolSize > 0 ? sqlPoolSize : 4;
            connectionTimeout = connectionTimeout == null ? Duration.ofSeconds(30) : connectionTimeout;
            embeddedDir = embeddedDir == null ? Path.of("data/postgres") : embeddedDir;
            embeddedPort = embeddedPort > 0 ? embeddedPort : 5432;
            schema = schema == null ? "starpets" : schema;
            if (schema == null || !PLAIN_IDENTIFIER.matcher(schema).matches() || schema.startsWith("pg_")) {
                throw new IllegalArgumentException(
                        "starpets.db.schema (DB_SCHEMA) must be a plain PostgreSQL identifier"
                                + " (lower-case letters, digits and _, not starting with a digit or pg_, at most 63), not '"
                                + schema + "'");
            }
        }

        /** Only an embedded PostgreSQL of database {@code starpets} in {@code dir} on {@code port} (its own roles). */
        public static Db embedded(Path dir, int port) {
            // No migrations run through it (EmbeddedPostgresMain): the schema is never used.
            return new Db(
                    null,
                    0,
                    "starpets",
                    null,
                    null,
                    1,
                    1,
                    null,
                    dir,
                    port,
                    null,
                    0,
                    null,
                    null,
                    null,
                    null,
                    1,
                    "starpets");
        }

        public boolean embedded() {
            return host == null || host.isBlank();
        }

        public String jdbcUrl(String actualHost, int actualPort) {
            return "jdbc:postgresql://" + actualHost + ":" + actualPort + "/" + name;
        }

        /**
         * Where the instance session and LISTEN connect: a direct or session-mode connection, which
         * may differ from the pool's (a transaction-mode pooler); by default the same as the pool's.
         */
        public String sessionJdbcUrl() {
            boolean sameAsPool = sessionHost == null || sessionHost.isBlank();
            return jdbcUrl(sameAsPool ? host : sessionHost, sessionPort > 0 ? sessionPort : port);
        }

        public boolean sessionSeparate() {
            return !sessionJdbcUrl().equals(jdbcUrl(host, port));
        }
    }

    /**
     * The scheduler's settings. What each engine setting means, and why its default, is on the
     * component of {@link SchedulerSettings} of the same name, where its default is written; an unset
     * one (application.yml maps each variable with an empty fallback) takes that default.
     *
     * @param enabled false: this instance serves the API but runs no tasks; default true
     * @param taskDuration how long each demo task ({@code sleep}, {@code cpu}) runs unless its params say;
     *     default 2 minutes (B4: at least 2 minutes)
     */
    public record Scheduler(
            Boolean enabled,
            Duration lease,
            Duration heartbeat,
            Duration poll,
            Duration settle,
            Integer totalInstances,
            Duration shutdownGrace,
            Integer quarantineAfter,
            Duration quarantineWindow,
            Integer maxConcurrentRuns,
            Duration taskDuration,
            Duration priorityAging,
            Duration claimAhead) {

        public Scheduler {
            SchedulerSettings engine = SchedulerSettings.defaults();
            enabled = enabled == null || enabled;
            lease = lease == null ? engine.lease() : lease;
            heartbeat = heartbeat == null ? engine.heartbeat() : heartbeat;
            poll = poll == null ? engine.poll() : poll;
            settle = settle == null ? engine.settle() : settle;
            totalInstances = totalInstances == null ? engine.totalInstances() : totalInstances;
            shutdownGrace = shutdownGrace == null ? engine.shutdownGrace() : shutdownGrace;
            quarantineAfter = quarantineAfter == null ? engine.quarantineAfter() : quarantineAfter;
            quarantineWindow = quarantineWindow == null ? engine.quarantineWindow() : quarantineWindow;
            maxConcurrentRuns = maxConcurrentRuns == null ? engine.maxConcurrentRuns() : maxConcurrentRuns;
            taskDuration = taskDuration == null ? Duration.ofMinutes(2) : taskDuration;
            priorityAging = priorityAging == null ? engine.priorityAging() : priorityAging;
            claimAhead = claimAhead == null ? engine.claimAhead() : claimAhead;
        }
    }

    /** The chaos suite's witness handler: registered only when {@code dir} is set (see handlers.WitnessHandler). */
    public record Witness(String dir) {

        public boolean enabled() {
            return dir != null && !dir.isBlank();
        }
    }

    /** A task as written in configuration, synced into the tasks table at start-up. */
    public record TaskDefinition(
            String name,
            String handler,
            String schedule,
            String timeZone,
            Duration timeout,
            String misfire,
            Duration misfireThreshold,
            Integer catchUpLimit,
            Duration catchUpWindow,
            Duration jitter,
            String startAt,
            String at,
            String overlap,
            Integer cost,
            Retry retry,
            Boolean enabled,
            Map<String, Object> params,
            RunAfter runAfter,
            Integer priority,
            String concurrencyGroup,
            Integer maxConcurrent) {}

    /** What a task runs after: {@code run-after: { task: import-orders, when: SUCCEEDED }} (FAILED, ANY). */
    public record RunAfter(String task, String when) {}

    /** A task's retries: {@code retry: { max-attempts: 3, initial-backoff: 5s, multiplier: 2, max-backoff: 1m }}. */
    public record Retry(Integer maxAttempts, Duration initialBackoff, Double multiplier, Duration maxBackoff) {}

    /**
     * Settings of the task handlers.
     *
     * @param taskSecrets the variables {@code ${NAME}} in task params may read: {@code NAME}, or
     *     {@code NAME@host|host…} to bind one to the hosts it may be sent to (handlers.TaskSecrets)
     * @param httpAllowedDestinations the internal hosts, {@code host:port} and address blocks that http
     *     tasks created over the API may reach (handlers.HttpDestinations)
     */
    public record Handlers(
            List<String> apiAllowed,
            Map<String, SqlDataSource> sqlDataSources,
            List<String> taskSecrets,
            List<String> httpAllowedDestinations) {

        public Handlers {
            apiAllowed = entries(apiAllowed);
            sqlDataSources = sqlDataSources == null ? Map.of() : Map.copyOf(sqlDataSources);
            taskSecrets = entries(taskSecrets);
            httpAllowedDestinations = entries(httpAllowedDestinations);
        }

        private static List<String> entries(List<String> list) {
            return list == null
                    ? List.of()
                    : list.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        }

        /** An extra database that {@code sql} tasks name in their param {@code data-source}. */
        public record SqlDataSource(
                String url,
                String user,
                String password,
                @DefaultValue("4") int poolSize) {}
    }
}
