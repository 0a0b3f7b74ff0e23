package gg.starpets.scheduler;

import java.util.List;
import java.util.Map;

/** What one recovery statement did: tasks recovered, and tasks left owned until their run is fenced off. */
record Recovery(List<Recovered> recovered, List<AwaitingFence> awaitingFence) {

    /**
     * A task whose instance was gone, made due again (or quarantined) by {@link OrphanRepository#recoverOrphans}.
     * {@code counted}: the loss counted toward quarantine, for the reason {@code blame} gives.
     */
    record Recovered(
            String task,
            String formerInstance,
            long lostRunId,
            String reason,
            boolean quarantined,
            int lostStreak,
            boolean counted,
            String blame) {}

    /**
     * A task whose instance is gone, left owned by {@link OrphanRepository#recoverOrphans} until its handler has
     * fenced off the lost run ({@link TaskHandler#fenceOff}).
     */
    record AwaitingFence(String task, String handler, long runId, Map<String, Object> params) {}
}
