package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.RunContext;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exec handler with real processes: exit codes, output, environment, and stopping whole process trees. */
class ExecHandlerTest {

    /** The environment the handler's secrets come from; DB_PASSWORD stands for the service's own. */
    private static final Map<String, String> ENV = Map.of(
            "GREETING", "hello from the environment",
            "PARTNER_TOKEN", "bound-to-one-host",
            "DB_PASSWORD", "the-service-database-password");

    private final ExecHandler handler = new ExecHandler(
            TaskSecrets.parse(List.of("GREETING", "NOT_SET_HERE", "PARTNER_TOKEN@api.partner.example"), () -> ENV));
    private final List<Long> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noProcessOfATestOutlivesIt() {
        // A safety net for a failing test; the tests themselves assert that their processes are gone.
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        handler.close();
    }

    private static RunContext context(Map<String, Object> params) {
        return RunContext.detached("nightly-export", params, Duration.ofMinutes(1));
    }

    private RunContext run(Map<String, Object> params) throws Exception {
        handler.validate(params);
        RunContext context = context(params);
        handler.run(context);
        return context;
    }

    private static Map<String, Object> shell(String commandLine) {
        return Map.of("shell", true, "command", commandLine);
    }

    /** Waits until the script has written {@code count} pids to the file, and returns them. */
    private List<Long> pids(Path file, int count) {
        await().atMost(Timing.SOON)
                .until(() -> Files.exists(file)
                        && Files.readAllLines(file).stream()
                                        .filter(l -> !l.isBlank())
                                        .count()
                                >= count);
        try {
            List<Long> pids = Files.readAllLines(file).stream()
                    .filter(l -> !l.isBlank())
                    .map(l -> Long.parseLong(l.strip()))
                    .toList();
            started.addAll(pids);
            return pids;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertAllGone(List<Long> pids) {
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(pids).as("processes of the run").allMatch(ProgramSteps::gone));
    }

    @Test
    void exitCodeZeroIsSuccessAndStdoutAndStderrAreKeptInterleaved() throws Exception {
        RunContext context = run(Map.of("command", List.of("sh", "-c", "echo first; echo second >&2; echo third")));

        assertThat(context.result()).containsEntry("exitCode", 0).containsEntry("outputBytes", 19L);
        assertThat(context.output()).isEqualTo("first\nsecond\nthird\n");
    }

    @Test
    void aNonZeroExitCodeFailsTheRunWithTheCode() {
        RunContext context = context(Map.of("command", List.of("sh", "-c", "echo cannot export; exit 3")));

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasToString("sh exited with code 3");
        assertThat(context.result()).containsEntry("exitCode", 3);
        assertThat(context.output()).isEqualTo("cannot export\n");
    }

    @Test
    void aProgramThatDoesNotExistFailsTheRun() {
        RunContext context = context(Map.of("command", List.of("/no/such/program")));

        assertThatThrownBy(() -> handler.run(context))
                .isInstanceOf(RunFailedException.class)
                .hasMessageStartingWith("could not start /no/such/program: ");
        assertThat(context.output()).contains("/no/such/program");
    }

    @Test
    void argumentsAreNotInterpretedByAShell() throws Exception {
        RunContext context = run(Map.of("command", List.of("echo", "$HOME; rm -rf *", "'quoted'")));

        assertThat(context.output()).isEqualTo("$HOME; rm -rf * 'quoted'\n");
    }

    @Test
    void theRunsIdentityAndTheGivenVariablesAreInTheProgramsEnvironment() throws Exception {
        RunContext context = run(Map.of(
                "shell", "true",
                "command", "echo \"$STARPETS_TASK $STARPETS_RUN_ID $STARPETS_FENCE $STARPETS_ATTEMPT $MODE\"",
                "env", Map.of("MODE", "full")));

        assertThat(context.output()).isEqualTo("nightly-export 0 0 1 full\n");
    }

    @Test
    void theTimeTheRunIsForIsInTheProgramsEnvironmentInUtc() throws Exception {
        Map<String, Object> params = Map.of("shell", "true", "command", "echo \"$STARPETS_SCHEDULED_FOR\"");
        handler.validate(params);
        RunContext context = context(params).asScheduledFor(Instant.parse("2026-12-07T03:00:00Z"));

        handler.run(context);

        assertThat(context.output()).isEqualTo("2026-12-07T03:00:00Z\n");
    }

    @Test
    void aTracedRunGivesItsProgramTheTraceparent() throws Exception {
        String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Map<String, Object> params = Map.of("shell", "true", "command", "echo \"[$TRACEPARENT]\"");
        handler.validate(params);
        RunContext traced = context(params).asTraced(traceparent);
        RunContext untraced = context(params);

        handler.run(traced);
        handler.run(untraced);

        assertThat(traced.output()).isEqualTo("[" + traceparent + "]\n");
        assertThat(untraced.output()).isEqualTo("[]\n");
    }

    @Test
    void placeholdersInArgumentsAndVariablesAreTaskSecretsReadAtRunTimeAndNeverKeptWithTheRun() throws Exception {
        Path seen = dir.resolve("seen");
        RunContext context = run(Map.of(
                "command",
                List.of("sh", "-c", "echo \"$1 / $TOKEN\" | tee \"$2\"", "sh", "${GREETING}", seen.toString()),
                "env",
                Map.of("TOKEN", "${GREETING}")));

        assertThat(Files.readString(seen)).isEqualTo("hello from the environment / hello from the environment\n");
        assertThat(context.output()).isEqualTo("[redacted GREETING] / [redacted GREETING]\n");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of("echo", "${NOT_SET_HERE}"))))
                .hasMessage(
                        "param 'command[1]' uses ${NOT_SET_HERE}, but the environment variable NOT_SET_HERE is not set");
    }

    @Test
    void onlyTheTaskSecretsMayBeReadNeverTheServicesSettingsAndNotOneBoundToHosts() {
        Map<String, Map<String, Object>> refused = Map.of(
                "param 'command[1]' uses ${DB_PASSWORD}: the service's own settings (DB_*, STARPETS_*, SPRING_*…)"
                        + " are never given to tasks",
                Map.of("command", List.of("echo", "${DB_PASSWORD}")),
                "param 'env.HOME_DIR' uses ${HOME}, which STARPETS_TASK_SECRETS does not name: tasks may read only"
                        + " the variables it names",
                Map.of("command", List.of("ls"), "env", Map.of("HOME_DIR", "${HOME}")),
                "param 'env.TOKEN' uses ${PARTNER_TOKEN}, which STARPETS_TASK_SECRETS binds to api.partner.example:"
                        + " only http tasks, whose destination is checked, may use it",
                Map.of("command", List.of("ls"), "env", Map.of("TOKEN", "${PARTNER_TOKEN}")));

        refused.forEach((message, params) -> {
            assertThatThrownBy(() -> handler.validate(params)).hasMessage(message);
            // A row edited in the database is refused as it runs.
            assertThatThrownBy(() -> handler.run(context(params))).hasMessage(message);
        });
    }

    @Test
    void aProgramGetsACleanEnvironmentUnlessItsTaskAsksToInheritTheServices() throws Exception {
        Set<String> service = System.getenv().keySet();
        assertThat(service).as("this JVM's environment").anyMatch(name -> !ExecHandler.KEPT_VARIABLES.contains(name));
        Set<String> expected = new TreeSet<>(Set.of(
                "STARPETS_RUN_ID",
                "STARPETS_FENCE",
                "STARPETS_ATTEMPT",
                "STARPETS_TASK",
                "STARPETS_SCHEDULED_FOR",
                "MODE"));
        ExecHandler.KEPT_VARIABLES.stream().filter(service::contains).forEach(expected::add);

        RunContext clean = run(Map.of("command", List.of("env"), "env", Map.of("MODE", "full")));
        RunContext inherited = run(Map.of("command", List.of("env"), "inherit-env", true));

        Set<String> seen = variables(clean.output());
        // The shell that starts the program once its supervisor watches it (ExecHandler.GATE) exports PWD.
        seen.remove("PWD");
        assertThat(seen).isEqualTo(expected);
        assertThat(variables(inherited.output())).containsAll(service);
    }

    /** The names in env(1)'s output. */
    private static Set<String> variables(String env) {
        return env.lines()
                .filter(line -> line.matches("[A-Za-z_][A-Za-z0-9_]*=.*"))
                .map(line -> line.substring(0, line.indexOf('=')))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void noSecretAProgramPrintsIsKeptWithTheRun() throws Exception {
        // As a program would that read its parent's environment from /proc.
        RunContext context = run(Map.of("command", List.of("echo", "password: the-service-database-password")));

        assertThat(context.output()).isEqualTo("password: [redacted DB_PASSWORD]\n");
    }

    @Test
    void dirIsTheWorkingDirectory() throws Exception {
        RunContext context = run(Map.of("command", List.of("pwd"), "dir", dir.toString()));

        assertThat(context.output()).isEqualTo(dir.toRealPath() + "\n");
        assertThatThrownBy(() -> handler.run(context(Map.of("command", List.of("pwd"), "dir", dir + "/missing"))))
                .hasMessageContaining("the working directory " + dir + "/missing does not exist");
    }

    @Test
    void onlyTheTailOfALongOutputIsKept() throws Exception {
        RunContext context = run(shell("i=0; while [ $i -lt 3000 ]; do echo \"line $i\"; i=$((i+1)); done"));

        assertThat((Long) context.result().get("outputBytes")).isGreaterThan(RunContext.MAX_OUTPUT_CHARS);
        assertThat(context.output())
                .hasSizeLessThanOrEqualTo(RunContext.MAX_OUTPUT_CHARS)
                .endsWith("line 2999\n");
    }

    @Test
    void aProgramWritingMuchToBothStreamsNeverBlocksOnAFullPipe() throws Exception {
        RunContext context = run(shell(
                "head -c 2000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero | tr '\\0' b >&2; echo; echo done"));

        assertThat(context.result()).containsEntry("exitCode", 0).containsEntry("outputBytes", 4_000_006L);
        assertThat(context.output()).endsWith("bbb\ndone\n");
    }

    @Test
    void aStoppedRunEndsItsWholeProcessTreeWithSigterm() throws Exception {
        Path pidFile = dir.resolve("pids");
        BackgroundRun run = BackgroundRun.start(
                handler,
                context(shell("sleep 600 & echo $! > " + pidFile + "; (sleep 700; echo never) & echo $! >> " + pidFile
                        // An orphan: its parent, the subshell, is gone; it is still in the run's group.
                        + "; (sleep 800 & echo $! >> " + pidFile + ")"
                        + "; echo $$ >> " + pidFile + "; wait")));
        List<Long> pids = pids(pidFile, 4);

        run.interrupt();

        assertThat(run.outcome(Duration.ofSeconds(20))).isInstanceOf(InterruptedException.class);
        assertAllGone(pids);
        assertThat(run.context.output())
                .contains("[starpets] run stopped: SIGTERM to")
                .doesNotContain("SIGKILL");
    }

    @Test
    void aProcessThatIgnoresSigtermIsKilledAfterTheGracePeriod() throws Exception {
        Path pidFile = dir.resolve("pids");
        // The ignored SIGTERM is inherited: neither the shell nor its sleep ends on it.
        BackgroundRun run = BackgroundRun.start(
                handler,
                context(Map.of(
                        "shell",
                        true,
                        "command",
                        "trap '' TERM; sleep 600 & echo $! > " + pidFile + "; echo $$ >> " + pidFile + "; wait",
                        "kill-after",
                        "1s")));
        List<Long> pids = pids(pidFile, 2);

        run.interrupt();

        assertThat(run.outcome(Duration.ofSeconds(20))).isInstanceOf(InterruptedException.class);
        assertAllGone(pids);
        assertThat(run.context.output()).contains("SIGKILL to 2").contains("kill-after 1s");
    }

    @Test
    void aGrandchildInASessionOfItsOwnIsStoppedWhileItsParentLives() throws Exception {
        Path pidFile = dir.resolve("pids");
        BackgroundRun run = BackgroundRun.start(
                handler,
                context(shell("setsid sleep 600 & echo $! > " + pidFile + "; echo $$ >> " + pidFile + "; wait")));
        List<Long> pids = pids(pidFile, 2);

        run.interrupt();

        assertThat(run.outcome(Duration.ofSeconds(20))).isInstanceOf(InterruptedException.class);
        assertAllGone(pids);
    }

    @Test
    void processesLeftInTheBackgroundEndWithTheRun() throws Exception {
        Path pidFile = dir.resolve("pids");

        RunContext context = run(shell("sleep 600 & echo $! > " + pidFile + "; echo started"));

        List<Long> pids = pids(pidFile, 1);
        assertAllGone(pids);
        assertThat(context.result()).containsEntry("exitCode", 0);
        assertThat(context.output()).startsWith("started\n").contains("left behind by the program");
    }

    @Test
    void paramsAreCheckedWhenTheTaskIsDefined() {
        assertThatThrownBy(() -> handler.validate(Map.of("command", "ls -l")))
                .hasMessageStartingWith("param 'command' must be a list: the program, then its arguments");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of("ls"), "shell", true)))
                .hasMessage("param 'command' must be one command line (text) with shell: true");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of())))
                .hasMessageStartingWith("param 'command' must be a list");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of("ls"), "cwd", "/tmp")))
                .hasMessage("unknown param 'cwd' (known: command, dir, env, inherit-env, kill-after, shell)");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of("ls"), "env", Map.of("A-B", "x"))))
                .hasMessage("param 'env.A-B' is not a valid environment variable name");
        assertThatThrownBy(
                        () -> handler.validate(Map.of("command", List.of("ls"), "env", Map.of("STARPETS_FENCE", "9"))))
                .hasMessage("param 'env.STARPETS_FENCE': STARPETS_* variables are set by the handler");
        assertThatThrownBy(() -> handler.validate(Map.of("command", List.of("ls"), "kill-after", "-1s")))
                .hasMessageStartingWith("param 'kill-after' must be a positive duration");
        assertThat(handler.operatorOnly()).isTrue();
    }
}
