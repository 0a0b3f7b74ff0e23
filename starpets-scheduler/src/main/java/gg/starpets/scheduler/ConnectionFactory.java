package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;

/** Opens a connection of its own (not from a pool): for the instance session and for LISTEN. */
@FunctionalInterface
public interface ConnectionFactory {

    Connection open() throws SQLException;
}
