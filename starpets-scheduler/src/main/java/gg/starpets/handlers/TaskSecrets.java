package gg.starpets.handlers;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The environment variables that {@code ${NAME}} in a task's params may read: only those that
 * {@code STARPETS_TASK_SECRETS} names, and never one of the service's own settings, named or not. A
 * secret may be bound to the hosts it may be sent to, {@code NAME@host|*.domain|host:port}: then only
 * {@code http} tasks may use it, in requests to those hosts. Also takes secret values out of what a run
 * keeps ({@link #redact}).
 */
public final class TaskSecrets {

    static final String SETTING = "STARPETS_TASK_SECRETS";

    /**
     * The service's own settings (prefixes, then names): every variable {@code application.yml} reads,
     * Spring's and the JVM's, and libpq's ({@code PGPASSWORD}…). Never given to tasks.
     */
    static final List<String> SERVICE_PREFIXES = List.of(
            "STARPETS_",
            "SPRING_",
            "SERVER_",
            "MANAGEMENT_",
            "LOGGING_",
            "SPRINGDOC_",
            "DB_",
            "EMBEDDED_DB_",
            "SCHEDULER_",
            "HTTP_",
            "BALANCE_",
            "JAVA_",
            "JDK_",
            "_JAVA_",
            "NOTIFY_",
            // OpenTelemetry's exporter settings: OTEL_EXPORTER_OTLP_HEADERS carries the collector's credentials.
            "OTEL_",
            "PG");

    static final Set<String> SERVICE_NAMES = Set.of(
            "PORT",
            "INSTANCE_ID",
            "HOSTNAME",
            "TOTAL_INSTANCES",
            "SHUTDOWN_GRACE",
            "TASK_DURATION",
            "LOG_FORMAT",
            "WITNESS_DIR",
            "HISTORY_RETENTION_ENABLED",
            "API_ALLOWED_OPERATOR_HANDLERS",
            "API_DOCS_ENABLED",
            "API_MAX_TASKS",
            "API_MAX_PARAMS_SIZE",
            "API_MIN_INTERVAL",
            "CLASSPATH");

    /** A word in a variable's name that makes its value a secret to keep out of runs, wherever it is set. */
    private static final Set<String> SECRET_WORDS = Set.of(
            "PASSWORD",
            "PASSWD",
            "PASSPHRASE",
            "PASS",
            "TOKEN",
            "TOKENS",
            "SECRET",
            "SECRETS",
            "CREDENTIAL",
            "CREDENTIALS",
            "KEY",
            "KEYS",
            "APIKEY");

    /** Shorter values are left in output: replacing them would mangle it, and they guard nothing. */
    static final int MIN_REDACTED = 4;

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /** No secrets, and an empty environment: for tools and tests that use none. */
    public static final TaskSecrets NONE = new TaskSecrets(Map.of(), Map::of);

    private final Map<String, List<HostPattern>> secrets;
    private final Supplier<Map<String, String>> environment;

    private TaskSecrets(Map<String, List<HostPattern>> secrets, Supplier<Map<String, String>> environment) {
        this.secrets = secrets;
        this.environment = environment;
    }

    /**
     * @param entries {@code NAME} or {@code NAME@host|host…}, as {@code STARPETS_TASK_SECRETS} lists them;
     *     a malformed entry, or one naming a service setting, stops the start
     * @param environment the variables, read at each use ({@code System::getenv} in the service)
     */
    public static TaskSecrets parse(Collection<String> entries, Supplier<Map<String, String>> environment) {
        Map<String, List<HostPattern>> secrets = new LinkedHashMap<>();
        for (String entry : entries) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int at = e.indexOf('@');
            String name = (at < 0 ? e : e.substring(0, at)).strip();
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException(
                        SETTING + ": '" + e + "' is not NAME or NAME@host|host… (a variable's name, and hosts)");
            }
            if (serviceSetting(name)) {
                throw new IllegalArgumentException(SETTING + " names " + name
                        + ", one of the service's own settings: those are never given to tasks");
            }
            List<HostPattern> hosts = new ArrayList<>();
            if (at >= 0) {
                for (String host : e.substring(at + 1).split("\\|", -1)) {
                    try {
                        hosts.add(HostPattern.parse(host));
                    } catch (IllegalArgumentException ex) {
                        throw new IllegalArgumentException(SETTING + ", " + name + ": " + ex.getMessage());
                    }
                }
            }
            if (secrets.put(name, List.copyOf(hosts)) != null) {
                throw new IllegalArgumentException(SETTING + " names " + name + " twice");
            }
        }
        return new TaskSecrets(Map.copyOf(secrets), environment);
    }

    /** The service's own secrets: STARPETS_TASK_SECRETS as given, the process's environment. */
    public static TaskSecrets fromEnvironment(Collection<String> entries) {
        return parse(entries, System::getenv);
    }

    /** Whether a variable is one of the service's own settings (case aside). */
    static boolean serviceSetting(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        return SERVICE_NAMES.contains(n) || SERVICE_PREFIXES.stream().anyMatch(n::startsWith);
    }

    /**
     * The value of {@code ${name}} in {@code param}; throws {@link IllegalArgumentException} saying why
     * it may not be read. {@code destinationChecked}: the task's handler checks every host a secret is
     * sent to (only then may it use a bound secret).
     */
    String value(String param, String name, boolean destinationChecked) {
        String uses = "param '" + param + "' uses ${" + name + "}";
        if (serviceSetting(name)) {
            throw new IllegalArgumentException(
                    uses + ": the service's own settings (DB_*, STARPETS_*, SPRING_*…) are never given to tasks");
        }
        List<HostPattern> hosts = secrets.get(name);
        if (hosts == null) {
            throw new IllegalArgumentException(
                    uses + ", which " + SETTING + " does not name: tasks may read only the variables it names");
        }
        if (!hosts.isEmpty() && !destinationChecked) {
            throw new IllegalArgumentException(uses + ", which " + SETTING + " binds to " + list(hosts)
                    + ": only http tasks, whose destination is checked, may use it");
        }
        String value = environment.get().get(name);
        if (value == null) {
            throw new IllegalArgumentException(uses + ", but the environment variable " + name + " is not set");
        }
        return value;
    }

    /**
     * Why a request carrying these secrets may not go to {@code host} (as a URL names it) and
     * {@code port}: one is bound to other hosts. Null when it may.
     */
    String refusalToSend(Collection<String> names, String host, int port) {
        for (String name : names) {
            List<HostPattern> hosts = secrets.getOrDefault(name, List.of());
            if (!hosts.isEmpty() && hosts.stream().noneMatch(h -> h.matches(host, port))) {
                return "${" + name + "} may be sent only to " + list(hosts) + " (" + SETTING + "), not to "
                        + HostPattern.normalized(host) + ":" + port;
            }
        }
        return null;
    }

    private static String list(List<HostPattern> hosts) {
        return hosts.stream().map(HostPattern::toString).collect(Collectors.joining("|"));
    }

    /** The text with every secret value taken out ({@link #redact(String, boolean, boolean)}). */
    String redact(String text) {
        return redact(text, false, false);
    }

    /**
     * The text with every secret value replaced by {@code [redacted NAME]}: the values of the task
     * secrets, and of every variable whose name says it holds one ({@code …PASSWORD…}, {@code …TOKEN…},
     * {@code …SECRET…}, {@code …KEY…}, {@code …CREDENTIAL…}; each entry of a comma-separated list, and
     * what follows a {@code name:}), as they are, URL-encoded and JSON-escaped; values shorter than
     * {@value #MIN_REDACTED} characters stay. {@code cutAtStart}, {@code cutAtEnd}: the text was cut
     * there from a longer one, so a secret may have been cut in two: its part at that edge goes too.
     */
    String redact(String text, boolean cutAtStart, boolean cutAtEnd) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        List<Redaction> redactions = redactions();
        String out = text;
        for (Redaction r : redactions) {
            out = out.replace(r.value(), r.marker());
        }
        if (cutAtEnd) {
            out = cutEdge(out, redactions, true);
        }
        if (cutAtStart) {
            out = cutEdge(out, redactions, false);
        }
        return out;
    }

    /** The text without the part of a secret it ends (or starts) with, if it does. */
    private static String cutEdge(String text, List<Redaction> redactions, boolean end) {
        for (Redaction r : redactions) {
            String v = r.value();
            for (int k = Math.min(v.length() - 1, text.length()); k >= MIN_REDACTED; k--) {
                if (end && text.endsWith(v.substring(0, k))) {
                    return text.substring(0, text.length() - k) + r.marker();
                }
                if (!end && text.startsWith(v.substring(v.length() - k))) {
                    return r.marker() + text.substring(k);
                }
            }
        }
        return text;
    }

    private record Redaction(String value, String name) {
        String marker() {
            return "[redacted " + name + "]";
        }
    }

    /** Longest first: a value that holds another is replaced whole. */
    private List<Redaction> redactions() {
        Map<String, String> env = environment.get();
        List<Redaction> out = new ArrayList<>();
        for (String name : secrets.keySet()) {
            add(out, name, env.get(name));
        }
        env.forEach((name, value) -> {
            if (!secrets.containsKey(name) && namesASecret(name)) {
                for (String piece : pieces(value)) {
                    add(out, name, piece);
                }
            }
        });
        out.sort(Comparator.comparingInt((Redaction r) -> r.value().length()).reversed());
        return out;
    }

    private static boolean namesASecret(String name) {
        for (String word : name.toUpperCase(Locale.ROOT).split("_")) {
            if (SECRET_WORDS.contains(word)) {
                return true;
            }
        }
        return false;
    }

    /** A value, each entry of it as a comma-separated list, and what follows the last ':' of each (name:token). */
    private static Set<String> pieces(String value) {
        Set<String> pieces = new LinkedHashSet<>();
        pieces.add(value);
        for (String part : value.split(",")) {
            String p = part.strip();
            pieces.add(p);
            pieces.add(p.substring(p.lastIndexOf(':') + 1));
        }
        return pieces;
    }

    private static void add(List<Redaction> out, String name, String value) {
        if (value == null || value.length() < MIN_REDACTED) {
            return;
        }
        for (String form : new LinkedHashSet<>(
                List.of(value, URLEncoder.encode(value, StandardCharsets.UTF_8), jsonEscaped(value)))) {
            out.add(new Redaction(form, name));
        }
    }

    private static String jsonEscaped(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
