package gg.starpets.chaos;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The handler kinds the chaos suite runs tasks of, each witnessed from real execution: the in-JVM
 * {@code witness} handler (its own lines), {@code exec} (a program that writes its own lines outside
 * the JVM), {@code sql} (the statement as PostgreSQL shows it, and the rows its committed work wrote).
 * A task's kind is the end of its name ({@code 02-exec}).
 */
enum HandlerKind {
    WITNESS,
    EXEC,
    SQL;

    /** As written in task names, witness lines and {@code CHAOS_HANDLERS}. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The name of the suite's task number {@code n} (from 1), of this kind: {@code 02-exec}. The number
     * comes first so that, in name order, kinds alternate: an instance claiming a few tasks in a row gets
     * tasks of every kind.
     */
    String taskName(int n) {
        return "%02d-%s".formatted(n, id());
    }

    /** The kind of a task of the suite, from its name; null for a task the suite did not define. */
    static HandlerKind ofTask(String task) {
        for (HandlerKind k : values()) {
            if (task.endsWith("-" + k.id())) {
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
