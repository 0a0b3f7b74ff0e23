package gg.starpets.chaos;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The faults the chaos suite injects, in the order of a round. */
enum FaultKind {
    SIGKILL("SIGKILL of an instance, then started again", false),
    SIGSTOP_SHORT("SIGSTOP, SIGCONT after %s (< lease)", false),
    SIGSTOP_LONG("SIGSTOP, SIGCONT after %s (> lease)", false),
    SESSION_KILL("pg_terminate_backend of an instance session", true),
    CONNECTIONS_KILL("pg_terminate_backend of all of an instance's connections", true),
    PG_RESTART("PostgreSQL fast restart (down %s)", true),
    CUT_SHORT("an instance's connections cut (partition) %s (< lease)", false),
    CUT_LONG("an instance's connections cut (partition) %s (> lease)", false),
    PROXY_RESET("an instance's connections reset", false),
    SIGTERM("SIGTERM of an instance, then started again", false);

    private final String description;
    /** Session losses shorter than the lease: they must cost no run (issue 10). */
    final boolean mustLoseNothing;

    FaultKind(String description, boolean mustLoseNothing) {
        this.description = description;
        this.mustLoseNothing = mustLoseNothing;
    }

    /** As written on the command line: {@code sigstop-short}. */
    String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** What was done, with its length where it has one (a freeze's, the database's downtime). */
    String describe(String length) {
        return description.contains("%s") ? description.formatted(length) : description;
    }

    static FaultKind byId(String id) {
        return Arrays.stream(values())
                .filter(k -> k.id().equals(id.strip().toLowerCase(Locale.ROOT)))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown fault kind '" + id + "' (known: "
                        + Arrays.stream(values()).map(FaultKind::id).collect(Collectors.joining(", ")) + ")"));
    }
}
