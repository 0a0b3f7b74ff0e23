package gg.starpets.config;

/** Where the database is, and what to do when the service stops (stop an embedded server). */
public record DatabaseEndpoint(String jdbcUrl, String user, String password, AutoCloseable onClose)
        implements AutoCloseable {

    @Override
    public void close() throws Exception {
        onClose.close();
    }
}
