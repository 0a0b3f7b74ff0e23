package gg.starpets.config;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs only the embedded PostgreSQL 17, for the native twin of the compose stack (no PostgreSQL 17
 * package exists on Debian 12): {@code java -cp starpets.jar -Dloader.main=gg.starpets.config.EmbeddedPostgresMain
 * org.springframework.boot.loader.launch.PropertiesLauncher <data-dir> <port>}. Prints "READY" when
 * it accepts connections (with StarPets' three roles, {@link DatabaseRoles}), and stops PostgreSQL
 * cleanly on SIGTERM.
 */
public final class EmbeddedPostgresMain {

    private EmbeddedPostgresMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: EmbeddedPostgresMain <data-dir> <port>");
            System.exit(2);
        }
        var db = StarPetsProperties.Db.embedded(Path.of(args[0]), Integer.parseInt(args[1]));
        DatabaseEndpoint endpoint = EmbeddedPostgresServer.start(db);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            try {
                                endpoint.close();
                            } catch (Exception e) {
                                System.err.println("stopping PostgreSQL failed: " + e);
                            } finally {
                                stopped.countDown();
                            }
                        },
                        "embedded-postgres-stop"));
        System.out.println("READY " + endpoint.jdbcUrl());
        System.out.flush();
        stopped.await();
    }
}
