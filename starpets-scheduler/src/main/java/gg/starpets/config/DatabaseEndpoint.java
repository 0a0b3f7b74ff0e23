package gg.starpets.config;

/**
 * Where the database is, the three roles the service connects as (docs/security.md, "Database roles"),
 * and what to do when the service stops (stop an embedded server).
 *
 * @param service what the service runs as: its pools, its sessions, the health probe
 * @param owner the schema's owner: the migrations, then nothing
 * @param sqlTasks what {@code sql} tasks run as on the StarPets database
 * @param schema the schema of StarPets' tables and migration history ({@code starpets.db.schema}): the
 *     service's connections search it ({@link #searchPath}), sql tasks' connections do not
 */
public record DatabaseEndpoint(
        String jdbcUrl, Login service, Login owner, Login sqlTasks, AutoCloseable onClose, String schema)
        implements AutoCloseable {

    /** A role and its password (empty: none, for trust authentication). Never printed with the password. */
    public record Login(String user, String password) {

        public Login {
            password = password == null ? "" : password;
        }

        @Override
        public String toString() {
            return user;
        }
    }

    /** The service's own role. */
    public String user() {
        return service.user();
    }

    public String password() {
        return service.password();
    }

    /**
     * The driver property that makes a connection of the service find StarPets' tables unqualified: its
     * search_path is the schema alone (set at connect, so no statement of the service names the schema).
     */
    public static final String SEARCH_PATH_PROPERTY = "currentSchema";

    /** The service's connections' search_path: the value of {@link #SEARCH_PATH_PROPERTY}. */
    public String searchPath() {
        return schema;
    }

    @Override
    public void close() throws Exception {
        onClose.close();
    }
}
