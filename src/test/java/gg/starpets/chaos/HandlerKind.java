package gg.starpets.chaos;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The handler kinds the chaos suite runs tasks of, each witnessed from real execution: the in-JVM
 * {@code witness} handler (its own lines), {@code exec} (a program that writes its own lines outside
 * the JVM), {@code sql} (the statement as PostgreSQL shows it, and the rows its committed work wrote).
 * A task's kind is the start of its name ({@code exec-03}).
 */
enum HandlerKind {
    WITNESS,
    EXEC,
    SQL;

    /** As written in task names, witness lines and {@code CHAOS_HANDLERS}. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The name of this kind's task number {@code n} (from 1). */
    String taskName(int n) {
        return "%s-%02d".formatted(id(), n);
    }

    /** The kind of a task of the suite, from its name; null for a task the suite did not define. */
    static HandlerKind ofTask(String task) {
        for (HandlerKind k : values()) {
            if (task.startsWith(k.id() + "-")) {
                return k;
            }
        }
        return null;
    }

    static HandlerKind byId(String id) {
        return Arrays.stream(values())
                .filter(k -> k.id().equals(id.strip().toLowerCase(Locale.ROOT)))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown handler kind '" + id + "' (known: "
                        + Arrays.stream(values()).map(HandlerKind::id).collect(Collectors.joining(", ")) + ")"));
    }
}
