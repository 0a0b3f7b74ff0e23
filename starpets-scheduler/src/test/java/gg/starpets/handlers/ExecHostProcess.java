package gg.starpets.handlers;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An {@link ExecHost} as a separate JVM, which a test can freeze (SIGSTOP), thaw, kill (SIGKILL) or
 * halt, and the witness program its runs execute: a shell script that appends "PID TIME" lines to a
 * file (TIME: the wall clock in nanoseconds), about every 50 ms, with one child in its group.
 */
public final class ExecHostProcess implements AutoCloseable {

    private final Process process;
    private final Writer in;
    private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    private final List<Long> supervisors = new ArrayList<>();

    private ExecHostProcess(Process process) {
        this.process = process;
        this.in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().name("exec-host-" + process.pid()).start(() -> {
            try (BufferedReader out =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith(ExecHost.ANSWER)) {
                        answers.add(line.substring(ExecHost.ANSWER.length()));
                    }
                }
            } catch (IOException e) {
                // The host is gone.
            }
        });
    }

    /** Starts a host JVM with this JVM's java and class path; its log goes to {@code log}. */
    public static ExecHostProcess start(Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(
                        java,
                        "-Xmx128m",
                        "-XX:TieredStopAtLevel=1",
                        "-cp",
                        System.getProperty("java.class.path"),
                        ExecHost.class.getName())
                .redirectError(log.toFile());
        return new ExecHostProcess(builder.start());
    }

    /**
     * The witness program: with {@code ignoreTerm} it and its child ignore SIGTERM; the child's pid
     * is written first ("child PID").
     */
    public static String witness(Path steps, boolean ignoreTerm) {
        return (ignoreTerm ? "trap '' TERM; " : "")
                + "sleep 600 & echo \"child $!\" >> " + steps
                + "; while :; do echo \"$$ $(date +%s%N)\" >> " + steps + "; sleep 0.05; done";
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** Starts a run of {@code commandLine} (through a shell) whose hold lasts {@code hold} from each renewal. */
    public void run(String id, Duration hold, Duration margin, String killAfter, String commandLine) {
        send("run " + id + " " + hold.toMillis() + " " + margin.toMillis() + " " + killAfter + " " + commandLine);
    }

    public void lapse(String id) {
        send("lapse " + id);
    }

    public void stop(String id) {
        send("stop " + id);
    }

    public void halt() {
        send("halt");
    }

    /** The host's supervisor pid and how long its start took (ms); null before its first run. */
    public long[] supervisor() throws InterruptedException {
        send("supervisor");
        String[] words = answer("supervisor ", Duration.ofSeconds(20)).split(" ");
        if (words[1].equals("none")) {
            return null;
        }
        long pid = Long.parseLong(words[1]);
        supervisors.add(pid);
        return new long[] {pid, Long.parseLong(words[2])};
    }

    /** The next answer starting with {@code prefix}; fails after {@code limit}. */
    public String answer(String prefix, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String line = answers.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("no answer '" + prefix + "…' from the host within " + limit);
            }
            if (line.startsWith(prefix)) {
                return line;
            }
        }
    }

    public void freeze() throws IOException, InterruptedException {
        signal("STOP", process.pid());
    }

    public void thaw() throws IOException, InterruptedException {
        signal("CONT", process.pid());
    }

    static void signal(String signal, long pid) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                .redirectErrorStream(true)
                .start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + signal + " " + pid + " failed");
        }
    }

    /** SIGKILL, as the kernel's OOM killer or an orchestrator does. */
    public void kill() {
        process.destroyForcibly();
    }

    private void send(String line) {
        try {
            in.write(line + "\n");
            in.flush();
        } catch (IOException e) {
            throw new IllegalStateException("the host is gone", e);
        }
    }

    /** Kills the host, then any supervisor it started that is still there. */
    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        // Its supervisor then kills what it watches and exits; one a test left frozen cannot.
        for (long pid : supervisors) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
