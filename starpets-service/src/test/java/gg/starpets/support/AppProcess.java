package gg.starpets.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** An instance of the service as a separate process of the real jar, which a test can kill or freeze. */
public final class AppProcess implements AutoCloseable {

    private final String instanceId;
    private final Process process;
    private final Path log;
    private final Path portFile;
    private volatile int httpPort;

    private AppProcess(String instanceId, Process process, Path log, Path portFile) {
        this.instanceId = instanceId;
        this.process = process;
        this.log = log;
        this.portFile = portFile;
    }

    public String instanceId() {
        return instanceId;
    }

    /** Settings pointing an instance at {@code database} of the test server. */
    public static Map<String, Object> databaseSettings(String database) {
        Map<String, Object> settings = new HashMap<>();
        settings.put("starpets.db.host", "127.0.0.1");
        settings.put("starpets.db.port", TestPostgres.port());
        settings.put("starpets.db.name", database);
        settings.put("starpets.db.pool-size", 5);
        return settings;
    }

    /**
     * Starts {@code java -jar starpets.jar} with these {@code --name=value} settings, on a port the
     * process binds itself (port 0) unless {@code server.port} is among them, with {@link TestTokens}
     * unless the settings name tokens of their own. A port chosen free here and bound there later could
     * be taken in between; instead Spring Boot's own port file writer, added as a source, writes the
     * port it got to a file ({@link #url} waits for it).
     */
    public static AppProcess start(String instanceId, Map<String, Object> settings) throws IOException {
        Map<String, Object> withTokens = TestTokens.settings();
        withTokens.putAll(settings);
        settings = withTokens;
        settings.putIfAbsent("server.port", 0);
        settings.put("spring.main.sources", "org.springframework.boot.web.server.context.WebServerPortFileWriter");
        String jar = System.getProperty("starpets.jar");
        if (jar == null || !Files.exists(Path.of(jar))) {
            throw new IllegalStateException("the packaged jar is needed (system property starpets.jar): " + jar);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = Files.createTempFile("starpets-" + instanceId + "-", ".log");
        Path portFile = log.resolveSibling(log.getFileName() + ".port");
        // As in production (Dockerfile): an instance out of memory exits rather than lingering half-dead.
        // 512 MB holds a burst of a few thousand requests in flight on one instance (the A5 acceptance).
        List<String> command = new ArrayList<>(List.of(
                java,
                "-Xmx512m",
                "-XX:+ExitOnOutOfMemoryError",
                "-XX:TieredStopAtLevel=1",
                "-DPORTFILE=" + portFile,
                "-jar",
                jar));
        command.add("--starpets.instance-id=" + instanceId);
        settings.forEach((k, v) -> command.add("--" + k + "=" + v));
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new AppProcess(instanceId, process, log, portFile);
    }

    /**
     * This instance's address; the first call waits until its HTTP server listens (it has started), at
     * most {@link Timing#START}. A process killed after it listened still has its address (the file stays).
     */
    public String url(String path) {
        if (httpPort == 0) {
            await().atMost(Timing.START)
                    .pollInterval(Duration.ofMillis(50))
                    .failFast(
                            "the process exited before it listened; its log: " + log,
                            () -> !process.isAlive() && writtenPort() == 0)
                    .until(() -> writtenPort() > 0);
            httpPort = writtenPort();
        }
        return "http://127.0.0.1:" + httpPort + path;
    }

    /** The port the process wrote, 0 until it has (or while it writes). */
    private int writtenPort() {
        try {
            String written = Files.readString(portFile).strip();
            return written.isEmpty() ? 0 : Integer.parseInt(written);
        } catch (IOException | NumberFormatException notYet) {
            return 0;
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    /** SIGKILL: the process dies without any chance to clean up. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * SIGTERM: the graceful stop (drain, hand over unfinished runs); waits at most {@code limit} for
     * the process to exit. Returns whether it did.
     */
    public boolean terminate(Duration limit) throws InterruptedException {
        process.destroy();
        return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Where the process's output goes. */
    public Path logFile() {
        return log;
    }

    /** SIGSTOP or SIGCONT: the process freezes, or resumes, with its sockets open. */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.toHandle().children().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        try {
            // A killed process leaves its port file behind.
            Files.deleteIfExists(portFile);
        } catch (IOException ignored) {
            // A few bytes in the temporary directory.
        }
    }
}
