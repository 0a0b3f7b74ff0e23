package gg.starpets.support;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/**
 * The margins of tests that wait, in one place, sized for a loaded 2-core machine: CI there runs
 * beside other builds, and load averages of 15 to 18 were seen (five jar processes then took 150 s
 * to start, against 15 s on a quiet machine). A margin only bounds how long a test waits for what it
 * expects, so a generous one costs nothing when the test passes. A bound that is the behaviour under
 * test (a lease, a failover target, a settle window under test) is not a margin: it stays in the
 * test, named for what it is.
 */
public final class Timing {

    /**
     * For what the code does at once or within a few heartbeats (a claim, a run's end written, a
     * state seen over HTTP or in a page): well under a second on a quiet machine; a loaded one keeps
     * a thread or a process off the CPU for seconds.
     */
    public static final Duration SOON = Duration.ofSeconds(30);

    /**
     * For an amount of work to be done (hundreds of runs, thousands of requests): seconds on a quiet
     * machine, several times longer on a loaded one.
     */
    public static final Duration WORK = Duration.ofMinutes(3);

    /** For a Spring context, a jar process or the twin's instances to start and answer. */
    public static final Duration START = Duration.ofMinutes(4);

    /**
     * Added to a window a condition must hold for (Awaitility's {@code during}): the poll that closes
     * the window is a query or an HTTP call, which may itself take seconds on a loaded machine.
     */
    public static final Duration LATE_POLL = Duration.ofSeconds(5);

    /**
     * The settle window of instances a test starts "together" (one after another in one thread):
     * their starts spread over seconds on a loaded machine, and an instance whose window ends before
     * the others have registered claims more than its share.
     */
    public static final Duration TOGETHER = Duration.ofSeconds(5);

    private Timing() {}

    /**
     * An await for a condition that must hold for {@code window} (which is the behaviour under
     * test); only the deadline gets the margin. A condition that fails then holds again restarts the
     * window, which the margin leaves room for: state it so that a violation stays visible (count rows
     * rather than look at the current state), or add a {@code failFast} condition.
     */
    public static ConditionFactory holdsFor(Duration window) {
        return Awaitility.await().during(window).atMost(window.plus(LATE_POLL));
    }
}
