package gg.starpets.chaos;

import java.util.List;
import java.util.Set;

/**
 * One fault as it was applied. Times are wall-clock microseconds since the epoch (all processes and
 * PostgreSQL share the machine's clock). Its window, from injection to the moment the cluster had
 * settled again, is what LOST runs and overlaps are attributed by.
 *
 * @param victims the instance ids hit (every instance for a database restart)
 * @param victimPids their processes at the injection
 * @param injectedMicros just before the fault was applied
 * @param appliedMicros once it was in effect (the process reaped, the signal delivered, ...)
 * @param settledMicros when the suite saw the cluster settled again, or gave up waiting
 * @param lengthMicros how long the fault lasted where that means something (a freeze, a downtime), else 0
 * @param stuckRuns runs still RUNNING without a live owner (or not stepping) when the suite gave up waiting
 */
record Fault(
        FaultKind kind,
        int round,
        List<String> victims,
        Set<Long> victimPids,
        long injectedMicros,
        long appliedMicros,
        long settledMicros,
        long lengthMicros,
        boolean settled,
        Set<Long> stuckRuns) {

    boolean contains(long micros) {
        return micros >= injectedMicros && micros <= settledMicros;
    }
}
