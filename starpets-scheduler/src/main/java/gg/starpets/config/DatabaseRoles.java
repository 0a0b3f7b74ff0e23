package gg.starpets.config;

import gg.starpets.config.DatabaseEndpoint.Login;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import javax.sql.DataSource;

/**
 * StarPets' three database roles, created by {@code db/roles.sql} (the one script the embedded server,
 * the compose stack and the Helm chart all run): the schema's owner, the service's role, the role of
 * {@code sql} tasks. docs/security.md says what each may do.
 */
public final class DatabaseRoles {

    public static final Login OWNER = new Login("starpets_owner", "");
    public static final Login SERVICE = new Login("starpets_app", "");
    public static final Login SQL_TASKS = new Login("starpets_sql", "");

    /** For a server that trusts local connections (the embedded one): roles without passwords. */
    public static final Map<String, String> NO_PASSWORDS = Map.of();

    private static final String SCRIPT = "/db/roles.sql";

    private DatabaseRoles() {}

    /**
     * Runs {@code db/roles.sql} on {@code database} (connected as a superuser to the StarPets database),
     * with its parameters ({@code starpets.app_password} …) set first in the same session.
     */
    public static void create(DataSource database, Map<String, String> parameters) {
        try (Connection c = database.getConnection()) {
            try (PreparedStatement set = c.prepareStatement("select set_config(?, ?, false)")) {
                for (var parameter : parameters.entrySet()) {
                    set.setString(1, parameter.getKey());
                    set.setString(2, parameter.getValue());
                    set.execute();
                }
            }
            try (Statement st = c.createStatement()) {
                st.execute(script());
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create the database roles (db/roles.sql)", e);
        }
    }

    private static String script() {
        try (InputStream in = DatabaseRoles.class.getResourceAsStream(SCRIPT)) {
            if (in == null) {
                throw new IllegalStateException(SCRIPT + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
