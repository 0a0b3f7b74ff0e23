package gg.starpets.handlers;

import gg.starpets.scheduler.HeldRunContext;
import gg.starpets.scheduler.RunContext;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A JVM that runs {@code exec} runs as an instance would, for tests that freeze or kill it: each run's
 * hold is renewed by a thread of its own (from the renewal's start, as the engine counts) until the
 * test lets it lapse. Driven over stdin by {@link ExecHostProcess}; its answers are the lines of
 * stdout that start with {@link #ANSWER} (the rest is log).
 *
 * <pre>
 * run ID HOLD_MS MARGIN_MS KILL_AFTER COMMAND_LINE → (when it ends) ended ID OUTCOME
 * lapse ID        the hold is no longer renewed
 * stop ID         the run's thread is interrupted, as a timeout or a graceful stop does
 * supervisor      → supervisor PID START_MS (none: supervisor none)
 * halt            Runtime.halt, as the watchdog does
 * </pre>
 */
public final class ExecHost {

    static final String ANSWER = "@@ ";
    /** How often holds are renewed: like heartbeats, much shorter than the hold. */
    private static final Duration RENEW = Duration.ofMillis(50);

    private final ExecHandler handler = new ExecHandler(TaskSecrets.NONE);
    private final Map<String, Thread> runs = new ConcurrentHashMap<>();
    private final Map<String, AtomicBoolean> renewing = new ConcurrentHashMap<>();

    private ExecHost() {}

    public static void main(String[] args) throws Exception {
        ExecHost host = new ExecHost();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.split(" ", 6);
            switch (words[0]) {
                case "run" ->
                    host.run(
                            words[1],
                            Duration.ofMillis(Long.parseLong(words[2])),
                            Duration.ofMillis(Long.parseLong(words[3])),
                            words[4],
                            words[5]);
                case "lapse" -> host.renewing.get(words[1]).set(false);
                case "stop" -> host.runs.get(words[1]).interrupt();
                case "supervisor" -> {
                    Long pid = host.handler.supervision().pid();
                    Duration start = host.handler.supervision().lastStart();
                    answer("supervisor " + (pid == null ? "none" : pid + " " + start.toMillis()));
                }
                case "halt" -> Runtime.getRuntime().halt(70);
                default -> answer("unknown " + line);
            }
        }
        Runtime.getRuntime().halt(0);
    }

    private void run(String id, Duration hold, Duration margin, String killAfter, String commandLine) {
        AtomicLong holdEnd = new AtomicLong(System.nanoTime() + hold.toNanos());
        AtomicBoolean renew = new AtomicBoolean(true);
        renewing.put(id, renew);
        Thread.ofPlatform().daemon().name("renew-" + id).start(() -> {
            while (renew.get()) {
                long sent = System.nanoTime();
                holdEnd.set(sent + hold.toNanos());
                try {
                    Thread.sleep(RENEW);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        RunContext context = HeldRunContext.of(
                id,
                Map.of("shell", true, "command", commandLine, "kill-after", killAfter),
                Duration.ofHours(1),
                holdEnd::get,
                margin);
        runs.put(id, Thread.ofPlatform().name("run-" + id).start(() -> {
            String outcome;
            try {
                handler.run(context);
                outcome = "succeeded";
            } catch (Exception e) {
                outcome = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            renew.set(false);
            String output = context.output() == null ? "" : context.output();
            answer("ended " + id + " " + (outcome + " | " + output).replace('\n', ' '));
        }));
    }

    private static synchronized void answer(String line) {
        System.out.println(ANSWER + line);
        System.out.flush();
    }
}
