package gg.starpets.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Every StarPets setting. The defaults live in {@code application.yml}, next to the environment
 * variable that overrides each one; the README's configuration table mirrors that file.
 */
@ConfigurationProperties("starpets")
public record StarPetsProperties(
        String instanceId, Db db, Scheduler scheduler, List<TaskDefinition> tasks, Witness witness) {

    public StarPetsProperties {
        tasks = tasks == null ? List.of() : List.copyOf(tasks);
    }

    /** This copy's id: as configured, or derived from the host when nothing is configured. */
    public String resolvedInstanceId() {
        return instanceId == null || instanceId.isBlank() ? InstanceIdentity.resolve(Map.of()) : instanceId.strip();
    }

    public record Db(
            String host,
            int port,
            String name,
            String user,
            String password,
            int poolSize,
            Duration connectionTimeout,
            Path embeddedDir,
            int embeddedPort) {

        public boolean embedded() {
            return host == null || host.isBlank();
        }

        public String jdbcUrl(String actualHost, int actualPort) {
            return "jdbc:postgresql://" + actualHost + ":" + actualPort + "/" + name;
        }
    }

    public record Scheduler(
            @DefaultValue("true") boolean enabled,
            Duration lease,
            Duration heartbeat,
            Duration poll,
            Duration settle,
            int totalInstances,
            Duration shutdownGrace,
            Duration taskDuration) {}

    /** The chaos suite's witness handler: registered only when {@code dir} is set (see tasks.WitnessHandler). */
    public record Witness(String dir) {

        public boolean enabled() {
            return dir != null && !dir.isBlank();
        }
    }

    /** A task as written in configuration, synced into the tasks table at start-up. */
    public record TaskDefinition(
            String name,
            String handler,
            String schedule,
            String timeZone,
            Duration timeout,
            String misfire,
            Boolean enabled,
            Map<String, Object> params) {}
}
