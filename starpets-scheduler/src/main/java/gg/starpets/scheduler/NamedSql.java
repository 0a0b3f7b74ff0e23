package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SQL text with {@code :name} parameters, turned once into JDBC's {@code ?} form. Each name may
 * appear several times and is bound once. {@code ::type} casts, string literals and comments are
 * left alone. Parse at class load ({@code static final}); bind per call with {@link #prepare}.
 */
public final class NamedSql {

    private final String jdbcSql;
    private final Map<String, List<Integer>> positions;

    private NamedSql(String jdbcSql, Map<String, List<Integer>> positions) {
        this.jdbcSql = jdbcSql;
        this.positions = positions;
    }

    public static NamedSql of(String sql) {
        StringBuilder out = new StringBuilder(sql.length());
        Map<String, List<Integer>> positions = new HashMap<>();
        int index = 0;
        int i = 0;
        while (i < sql.length()) {
            char ch = sql.charAt(i);
            if (ch == '\'') {
                int end = sql.indexOf('\'', i + 1);
                end = end < 0 ? sql.length() - 1 : end;
                out.append(sql, i, end + 1);
                i = end + 1;
            } else if (ch == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                int end = sql.indexOf('\n', i);
                end = end < 0 ? sql.length() : end;
                out.append(sql, i, end);
                i = end;
            } else if (ch == ':' && i + 1 < sql.length() && sql.charAt(i + 1) == ':') {
                out.append("::");
                i += 2;
            } else if (ch == ':' && i + 1 < sql.length() && Character.isJavaIdentifierStart(sql.charAt(i + 1))) {
                int end = i + 1;
                while (end < sql.length() && Character.isJavaIdentifierPart(sql.charAt(end))) {
                    end++;
                }
                positions
                        .computeIfAbsent(sql.substring(i + 1, end), k -> new ArrayList<>())
                        .add(++index);
                out.append('?');
                i = end;
            } else {
                out.append(ch);
                i++;
            }
        }
        return new NamedSql(out.toString(), Map.copyOf(positions));
    }

    /** The same statement under EXPLAIN, bound by the same names (for plan tests). */
    NamedSql explained() {
        return new NamedSql("explain " + jdbcSql, positions);
    }

    public Statement prepare(Connection c) throws SQLException {
        return new Statement(c, c.prepareStatement(jdbcSql));
    }

    /** A prepared statement bound by name; every name of the text must be bound before it runs. */
    public final class Statement implements AutoCloseable {

        private final Connection connection;
        private final PreparedStatement statement;
        private final Map<String, Boolean> bound = new HashMap<>();

        private Statement(Connection connection, PreparedStatement statement) {
            this.connection = connection;
            this.statement = statement;
        }

        /**
         * Binds a value: strings, numbers, booleans, {@link Instant} (as timestamptz), {@link Duration}
         * (as milliseconds), {@code long[]}/{@code String[]} (as arrays), or null (typed by the SQL's cast).
         */
        public Statement set(String name, Object value) throws SQLException {
            List<Integer> at = positions.get(name);
            if (at == null) {
                throw new IllegalArgumentException("no parameter :" + name + " in " + jdbcSql);
            }
            for (int position : at) {
                switch (value) {
                    case null -> statement.setNull(position, Types.OTHER);
                    case Instant instant -> statement.setTimestamp(position, Timestamp.from(instant));
                    case Duration duration -> statement.setLong(position, duration.toMillis());
                    case long[] longs -> {
                        Long[] boxed = new Long[longs.length];
                        for (int i = 0; i < longs.length; i++) {
                            boxed[i] = longs[i];
                        }
                        statement.setArray(position, connection.createArrayOf("bigint", boxed));
                    }
                    case double[] doubles -> {
                        Double[] boxed = new Double[doubles.length];
                        for (int i = 0; i < doubles.length; i++) {
                            boxed[i] = doubles[i];
                        }
                        statement.setArray(position, connection.createArrayOf("float8", boxed));
                    }
                    case String[] strings -> statement.setArray(position, connection.createArrayOf("text", strings));
                    case Timestamp[] stamps ->
                        statement.setArray(position, connection.createArrayOf("timestamptz", stamps));
                    default -> statement.setObject(position, value);
                }
            }
            bound.put(name, true);
            return this;
        }

        public ResultSet executeQuery() throws SQLException {
            checkBound();
            return statement.executeQuery();
        }

        public int executeUpdate() throws SQLException {
            checkBound();
            return statement.executeUpdate();
        }

        /** Runs the same statement again with new values (batching one statement per row). */
        public void addBatch() throws SQLException {
            checkBound();
            statement.addBatch();
        }

        public int[] executeBatch() throws SQLException {
            return statement.executeBatch();
        }

        public void setQueryTimeout(int seconds) throws SQLException {
            statement.setQueryTimeout(seconds);
        }

        private void checkBound() {
            if (bound.size() != positions.size()) {
                var missing = new ArrayList<>(positions.keySet());
                missing.removeAll(bound.keySet());
                throw new IllegalStateException("unbound parameters " + missing + " in " + jdbcSql);
            }
        }

        @Override
        public void close() throws SQLException {
            statement.close();
        }
    }
}
