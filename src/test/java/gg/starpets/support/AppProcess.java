package gg.starpets.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
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
    private final int httpPort;

    private AppProcess(String instanceId, Process process, Path log, int httpPort) {
        this.instanceId = instanceId;
        this.process = process;
        this.log = log;
        this.httpPort = httpPort;
    }

    public String instanceId() {
        return instanceId;
    }

    /** Settings pointing an instance at {@code database} of the test server, on a free HTTP port. */
    public static Map<String, Object> databaseSettings(String database) {
        Map<String, Object> settings = new HashMap<>();
        settings.put("starpets.db.host", "127.0.0.1");
        settings.put("starpets.db.port", TestPostgres.port());
        settings.put("starpets.db.name", database);
        settings.put("starpets.db.pool-size", 5);
        return settings;
    }

    /**
     * Starts {@code java -jar starpets.jar} with these {@code --name=value} settings, on a free
     * loopback HTTP port unless {@code server.port} is among them, with {@link TestTokens} unless the
     * settings name tokens of their own.
     */
    public static AppProcess start(String instanceId, Map<String, Object> settings) throws IOException {
        Map<String, Object> withTokens = TestTokens.settings();
        withTokens.putAll(settings);
        settings = withTokens;
        settings.putIfAbsent("server.port", freePort());
        int httpPort = Integer.parseInt(settings.get("server.port").toString());
        String jar = System.getProperty("starpets.jar");
        if (jar == null || !Files.exists(Path.of(jar))) {
            throw new IllegalStateException("the packaged jar is needed (system property starpets.jar): " + jar);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        // As in production (Dockerfile): an instance out of memory exits rather than lingering half-dead.
        // 512 MB holds a burst of a few thousand requests in flight on one instance (the A5 acceptance).
        List<String> command = new ArrayList<>(
                List.of(java, "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1", "-jar", jar));
        command.add("--starpets.instance-id=" + instanceId);
        settings.forEach((k, v) -> command.add("--" + k + "=" + v));
        Path log = Files.createTempFile("starpets-" + instanceId + "-", ".log");
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new AppProcess(instanceId, process, log, httpPort);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    public String url(String path) {
        return "http://127.0.0.1:" + httpPort + path;
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
    }
}
