package gg.starpets.chaos;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The faults the chaos suite injects, in the order of a round. */
enum FaultKind {
    SIGKILL("SIGKILL of an instance, then started again", false, false),
    SIGSTOP_SHORT("SIGSTOP, SIGCONT after %s (< lease)", true, false),
    SIGSTOP_LONG("SIGSTOP, SIGCONT after %s (> lease)", false, false),
    SESSION_KILL("pg_terminate_backend of an instance session", true, false),
    CONNECTIONS_KILL("pg_terminate_backend of all of an instance's connections", true, false),
    PG_RESTART("PostgreSQL fast restart (down %s)", true, true),
    PG_CRASH("PostgreSQL crash-restart: SIGKILL of one backend (down %s)", true, true),
    PG_PROMOTE("standby promoted while the primary is stopped (down %s)", true, true),
    CUT_SHORT("an instance's connections cut (partition) %s (< lease)", true, false),
    CUT_LONG("an instance's connections cut (partition) %s (> lease)", false, false),
    PROXY_RESET("an instance's connections reset", true, false),
    SIGTERM("SIGTERM of an instance, then started again", false, false);

    private final String description;
    /** Faults shorter than the lease: they must cost no run. */
    final boolean mustLoseNothing;
    /** The database's faults: every instance is a victim. */
    final boolean hitsEveryInstance;

    FaultKind(String description, boolean mustLoseNothing, boolean hitsEveryInstance) {
        this.description = description;
        this.mustLoseNothing = mustLoseNothing;
        this.hitsEveryInstance = hitsEveryInstance;
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
