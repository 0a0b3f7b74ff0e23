package gg.starpets.handlers;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import gg.starpets.scheduler.HeldRunContext;
import gg.starpets.scheduler.RunContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exec supervisor seen from a live JVM: a run whose hold lapses, a stop as the hold ends, a stop
 * whose program ignores SIGTERM, and the supervisor's own death. Witnesses: the program's steps and
 * /proc.
 */
class ExecSupervisionTest {

    /** The runs' hold from each renewal, and its margin: sized so that a loaded two-core machine keeps up. */
    private static final Duration HOLD = Duration.ofSeconds(3);

    private static final Duration MARGIN = Duration.ofSeconds(1);
    /** Generous bounds for what has no deadline of its own. */
    private static final Duration SLOW = Duration.ofSeconds(60);

    private final ExecHandler handler = new ExecHandler(TaskSecrets.NONE);
    private final List<Long> started = new ArrayList<>();
    private final List<Hold> holds = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noProcessOfATestOutlivesIt() {
        holds.forEach(Hold::lapse);
        // A safety net for a failing test; the tests themselves assert that their processes are gone.
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        handler.close();
    }

    /** A run's hold, renewed every 50 ms (from each renewal's start, as the engine counts) until it lapses. */
    private final class Hold {
        final AtomicLong end = new AtomicLong(System.nanoTime() + HOLD.toNanos());
        private final AtomicBoolean renewing = new AtomicBoolean(true);
        private final Thread renewal;

        Hold() {
            holds.add(this);
            renewal = Thread.ofPlatform().daemon().start(() -> {
                while (renewing.get()) {
                    end.set(System.nanoTime() + HOLD.toNanos());
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        /** No more renewals; returns the end of the hold, which no longer moves. */
        long lapse() {
            renewing.set(false);
            renewal.interrupt();
            try {
                renewal.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return end.get();
        }

        RunContext context(String commandLine, String killAfter) {
            return HeldRunContext.of(
                    "supervised",
                    Map.of("shell", true, "command", commandLine, "kill-after", killAfter),
                    Duration.ofHours(1),
                    end::get,
                    MARGIN);
        }
    }

    /** A run of the witness program, once it took a few steps. */
    private record Witnessed(BackgroundRun run, List<Long> pids, Path file) {}

    private Witnessed witnessed(Hold hold, boolean ignoreTerm, String killAfter) throws Exception {
        Path file = dir.resolve("steps");
        BackgroundRun run =
                BackgroundRun.start(handler, hold.context(ExecHostProcess.witness(file, ignoreTerm), killAfter));
        List<Long> pids = ProgramSteps.awaitSteps(file, 3, SLOW);
        started.addAll(pids);
        return new Witnessed(run, pids, file);
    }

    @Test
    void whenARunsHoldLapsesItsProgramIsEndedBeforeTheHoldEndsEvenIfItIgnoresSigterm() throws Exception {
        Hold hold = new Hold();
        Witnessed w = witnessed(hold, true, "1h");
        BackgroundRun run = w.run();
        List<Long> pids = w.pids();

        // This JVM stops renewing (cut off from the database, say) and its handler thread does nothing.
        long holdEnd = hold.lapse();
        ProgramSteps.assertEndedBefore(holdEnd, w.file(), pids, HOLD.plus(SLOW));
        assertThat(run.outcome(SLOW)).isInstanceOf(RunFailedException.class).hasMessageContaining("code 137");
        assertThat(run.context.output())
                .contains("the run's hold was about to end without a renewal from this JVM")
                .contains("the exec supervisor sent SIGTERM, then SIGKILL");
    }

    @Test
    void aRunStoppedAsItsHoldEndsReturnsBeforeTheEndWithItsProgramGone() throws Exception {
        Hold hold = new Hold();
        // A kill-after far beyond the hold: only the hold decides.
        Witnessed w = witnessed(hold, true, "1h");
        BackgroundRun run = w.run();
        List<Long> pids = w.pids();

        long holdEnd = hold.lapse();
        // As the engine's watchdog does: the handler still executes half a margin before the end.
        await().atMost(HOLD.plus(SLOW)).until(() -> System.nanoTime() - (holdEnd - MARGIN.toNanos() / 2) > 0);
        run.interrupt();

        // The supervisor's SIGKILL is due at this very moment: the program may have ended by it first.
        assertThat(run.outcome(SLOW)).isInstanceOfAny(InterruptedException.class, RunFailedException.class);
        assertThat(System.nanoTime()).as("returned before the hold's end").isLessThan(holdEnd);
        assertThat(pids).as("processes of the run when it returned").allMatch(ProgramSteps::gone);
    }

    @Test
    void aStoppedRunWhoseProgramIgnoresSigtermReturnsWithinTheHoldWithItsProgramGone() throws Exception {
        Hold hold = new Hold();
        // A graceful stop or a timeout: the hold is renewed all along; kill-after is far beyond it.
        Witnessed w = witnessed(hold, true, "1h");
        BackgroundRun run = w.run();
        List<Long> pids = w.pids();

        run.interrupt();

        assertThat(run.outcome(SLOW)).isInstanceOf(InterruptedException.class);
        assertThat(pids).as("processes of the run when it returned").allMatch(ProgramSteps::gone);
        assertThat(run.context.output()).contains("SIGKILL to");
    }

    @Test
    void whenTheSupervisorDiesItsRunsFailWithTheirProgramsStoppedAndTheNextRunStartsANewOne() throws Exception {
        Hold hold = new Hold();
        Witnessed w = witnessed(hold, false, "5s");
        BackgroundRun run = w.run();
        List<Long> pids = w.pids();
        long supervisor = handler.supervision().pid();

        ProcessHandle.of(supervisor).orElseThrow().destroyForcibly();

        assertThat(run.outcome(SLOW))
                .isInstanceOf(RunFailedException.class)
                .hasMessageContaining("the exec supervisor (pid " + supervisor + ") died")
                .hasMessageContaining("the next run starts a new supervisor");
        assertThat(pids).as("processes of the run when it returned").allMatch(ProgramSteps::gone);

        BackgroundRun next = BackgroundRun.start(handler, hold.context("echo next", "5s"));
        assertThat(next.outcome(SLOW)).isNull();
        assertThat(next.context.output()).isEqualTo("next\n");
        assertThat(handler.supervision().pid()).isNotEqualTo(supervisor);
    }

    @Test
    void theSupervisorsClassesNeedOnlyTheJdk() {
        // It runs from a copy of these classes alone: anything else would be missing there.
        classes()
                .that(belongToAnyOf(ExecSupervisor.class, ProcessTree.class))
                .should()
                .onlyDependOnClassesThat(DescribedPredicate.describe(
                        "are the JDK's or its own (or arrays of them)", (JavaClass c) -> {
                            JavaClass base = c.isArray() ? c.getBaseComponentType() : c;
                            return base.isPrimitive()
                                    || base.getPackageName().startsWith("java.")
                                    || belongToAnyOf(ExecSupervisor.class, ProcessTree.class)
                                            .test(base);
                        }))
                .check(new ClassFileImporter().importClasses(ExecSupervisor.classes()));
        assertThat(ExecSupervisor.classes())
                .extracting(Class::getSimpleName)
                .contains("ExecSupervisor", "ProcessTree", "Watched");
    }
}
