package gg.starpets.chaos;

import gg.starpets.chaos.ChaosJudge.Row;
import gg.starpets.chaos.ChaosJudge.Verdict;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Prints a judged chaos run as markdown: the table per fault kind, then each target with PASS or FAIL. */
final class ChaosReport {

    /** A target and whether it was met; {@code correctness} targets fail CI, timing ones are only printed. */
    record Target(String name, boolean met, String figure, boolean correctness) {}

    private static final int DETAILS = 50;

    private ChaosReport() {}

    /**
     * Per handler kind: 0 overlapping live handlers, 0 runs stepping after their recorded end and 0 runs
     * left non-terminal over every fault kind (and between faults); per fault kind shorter than the lease: 0 runs LOST. Then the crash recovery.
     */
    static List<Target> targets(Verdict v) {
        List<Target> targets = new ArrayList<>();
        Map<HandlerKind, List<Row>> byHandler = new TreeMap<>();
        v.byHandler()
                .forEach(r -> byHandler
                        .computeIfAbsent(r.handler(), k -> new ArrayList<>())
                        .add(r));
        byHandler.forEach((h, rows) -> {
            int overlaps = rows.stream()
                    .mapToInt(r -> r.overlaps() + r.sameProcessOverlaps())
                    .sum();
            targets.add(new Target(
                    "0 overlapping live handlers: " + h.id() + " (every fault kind)",
                    overlaps == 0,
                    overlaps + "",
                    true));
        });
        // What a run started must be over before its end is recorded (which lets the task start again):
        // a step after it is the overlap that did not happen only because no run started in between.
        byHandler.forEach((h, rows) -> {
            int late = rows.stream().mapToInt(Row::lateRuns).sum();
            targets.add(new Target(
                    "0 runs stepping after their end: " + h.id() + " (every fault kind)", late == 0, late + "", true));
        });
        byHandler.forEach((h, rows) -> {
            int stuck = rows.stream().mapToInt(Row::nonTerminal).sum();
            targets.add(new Target(
                    "0 runs left non-terminal: " + h.id() + " (every fault kind)", stuck == 0, stuck + "", true));
        });
        // Tasks of no handler kind of the suite's own (none in a run of the suite): judged in total.
        int overlaps = v.rows().stream()
                .mapToInt(r -> r.overlaps() + r.sameProcessOverlaps())
                .sum();
        int stuck = v.rows().stream().mapToInt(Row::nonTerminal).sum();
        int counted = v.byHandler().stream()
                .mapToInt(r -> r.overlaps() + r.sameProcessOverlaps())
                .sum();
        int countedStuck = v.byHandler().stream().mapToInt(Row::nonTerminal).sum();
        if (overlaps != counted || stuck != countedStuck || byHandler.isEmpty()) {
            targets.add(
                    new Target("0 overlapping live handlers (every fault kind)", overlaps == 0, overlaps + "", true));
            targets.add(new Target("0 runs left non-terminal (every fault kind)", stuck == 0, stuck + "", true));
        }
        for (Row r : v.rows()) {
            if (r.kind() != null && r.kind().mustLoseNothing) {
                targets.add(new Target(
                        "0 runs LOST: " + r.kind().id() + " (shorter than the lease)",
                        r.lost() == 0,
                        r.lost() + "",
                        true));
            }
        }
        v.rows().stream().filter(r -> r.kind() == FaultKind.SIGKILL).findFirst().ifPresent(r -> {
            double p99 = percentile(r.recoverySeconds(), 0.99);
            boolean met = !r.recoverySeconds().isEmpty() && r.unrecovered() == 0 && p99 <= 1.0;
            targets.add(new Target(
                    "crash (SIGKILL) recovery p99 <= 1 s",
                    met,
                    seconds(p99) + (r.unrecovered() > 0 ? ", " + r.unrecovered() + " not recovered" : ""),
                    false));
        });
        return targets;
    }

    /** The concurrency group's target: never more of its tasks' executions live at once than its limit. */
    static Target groupTarget(int most, int limit) {
        return new Target(
                "group concurrency never above its limit: " + ChaosSettings.GROUP + " (every fault kind)",
                most <= limit,
                most + " of " + limit,
                true);
    }

    /**
     * No slot of the group leaked: after every fault, its executions are back at its limit within
     * {@code bound} of the fault's end ({@link ChaosJudge#belowLimitAfter}; its due tasks outnumber the
     * limit, so only a slot held by nothing running keeps it below for long).
     */
    static Target groupBackTarget(Map<Fault, Double> belowAfter, java.time.Duration bound) {
        double worst = 0;
        String at = "";
        String never = null;
        for (var e : belowAfter.entrySet()) {
            if (Double.isNaN(e.getValue())) {
                never = "round " + e.getKey().round() + " " + e.getKey().kind().id();
                break;
            }
            if (e.getValue() >= worst) {
                worst = e.getValue();
                at = "round " + e.getKey().round() + " " + e.getKey().kind().id();
            }
        }
        List<Double> values = List.copyOf(belowAfter.values());
        String figure = never != null
                ? "never back after " + never
                : belowAfter.isEmpty()
                        ? "no fault"
                        : "longest %s (%s), p50 %s".formatted(seconds(worst), at, seconds(percentile(values, 0.5)));
        return new Target(
                "group back at its limit within " + human(bound) + " after every fault: " + ChaosSettings.GROUP,
                never == null && worst <= bound.toNanos() / 1e9,
                figure,
                true);
    }

    static void print(PrintStream out, ChaosSettings s, Verdict v, Map<FaultKind, String> lengths, String notes) {
        print(out, s, v, lengths, notes, List.of());
    }

    /** As above, with {@code more} targets after the verdict's. */
    static void print(
            PrintStream out,
            ChaosSettings s,
            Verdict v,
            Map<FaultKind, String> lengths,
            String notes,
            List<Target> more) {
        out.println("| fault | applied | runs | overlapping live handlers | same-process overlaps"
                + " | runs left non-terminal | runs LOST | runs cut short | runs stepping after their end"
                + " | recovery p50 | recovery p99 |");
        out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        v.rows().forEach(r -> out.println(line(r, lengths, false)));
        out.println();
        out.println("By handler kind:");
        out.println();
        out.println("| fault | handler | applied | runs | overlapping live handlers | same-process overlaps"
                + " | runs left non-terminal | runs LOST | runs cut short | runs stepping after their end"
                + " | recovery p50 | recovery p99 |");
        out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
        v.byHandler().forEach(r -> out.println(line(r, lengths, true)));
        out.println();
        out.println("| target | figure | |");
        out.println("|---|---|---|");
        List<Target> all = new ArrayList<>(targets(v));
        all.addAll(more);
        for (Target t : all) {
            out.printf("| %s | %s | %s |%n", t.name(), t.figure(), t.met() ? "PASS" : "FAIL");
        }
        out.println();
        out.printf(
                "%d instances, %d round(s); lease %s, heartbeat %s; %d tasks (%s) every %s, runs of %s in steps of %s. %s%n",
                s.instances(),
                s.rounds(),
                human(s.lease()),
                human(s.heartbeat()),
                s.tasks(),
                String.join(", ", s.handlers().stream().map(HandlerKind::id).toList()),
                s.schedule(),
                human(s.runDuration()),
                human(s.step()),
                notes);
        details(out, v);
    }

    private static String line(Row r, Map<FaultKind, String> lengths, boolean withHandler) {
        String name = r.kind() == null ? "(start-up, between faults)" : r.kind().describe(lengths.get(r.kind()));
        String p50 = r.recoverySeconds().isEmpty() ? "-" : seconds(percentile(r.recoverySeconds(), 0.5));
        String p99 = r.recoverySeconds().isEmpty() ? "-" : seconds(percentile(r.recoverySeconds(), 0.99));
        if (r.unrecovered() > 0) {
            p99 += " (" + r.unrecovered() + " not recovered)";
        }
        return "| %s |%s %d | %d | %d | %d | %d | %d | %d | %d | %s | %s |"
                .formatted(
                        name,
                        withHandler ? " " + r.handler().id() + " |" : "",
                        r.faults(),
                        r.runs(),
                        r.overlaps(),
                        r.sameProcessOverlaps(),
                        r.nonTerminal(),
                        r.lost(),
                        r.cutShort(),
                        r.lateRuns(),
                        p50,
                        p99);
    }

    private static void details(PrintStream out, Verdict v) {
        if (!v.overlaps().isEmpty()) {
            out.println();
            out.println("Overlaps (first " + Math.min(DETAILS, v.overlaps().size()) + " of "
                    + v.overlaps().size() + "):");
            v.overlaps().stream()
                    .limit(DETAILS)
                    .forEach(o -> out.printf(
                            "- %s at %s: run %d (%s) and run %d (%s) both live for %.0f ms%n",
                            o.task(),
                            Instant.ofEpochSecond(0, o.fromMicros() * 1_000),
                            o.first().runId(),
                            where(o.first()),
                            o.second().runId(),
                            where(o.second()),
                            (o.toMicros() - o.fromMicros()) / 1e3));
        }
        if (!v.late().isEmpty()) {
            out.println();
            out.println("Runs stepping after their end was recorded (first "
                    + Math.min(DETAILS, v.late().size()) + " of " + v.late().size() + "):");
            v.late().stream()
                    .limit(DETAILS)
                    .forEach(l -> out.printf(
                            "- %s run %d (%s): recorded %s, then %d step(s)%s, the last %.0f ms later%n",
                            l.execution().task(),
                            l.execution().runId(),
                            where(l.execution()),
                            l.status(),
                            l.steps(),
                            l.committed() ? " and its work committed" : "",
                            (l.lastMicros() - l.finishedMicros()) / 1e3));
        }
    }

    /** Where an execution ran: the JVM, or the program or backend and the JVM whose it was. */
    private static String where(ChaosJudge.Execution x) {
        return switch (x.kind()) {
            case WITNESS -> "pid %d, %s".formatted(x.pid(), x.instance());
            case EXEC -> "program pid %d of JVM %d, %s".formatted(x.pid(), x.host(), x.instance());
            case SQL -> "backend %d of JVM %d, %s".formatted(x.pid(), x.host(), x.instance());
        };
    }

    /** Nearest rank. */
    static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = values.stream().sorted().toList();
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    static String seconds(double s) {
        return Double.isNaN(s) ? "-" : String.format("%.2f s", s);
    }

    static String human(java.time.Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
