package gg.starpets.bench;

import java.io.PrintWriter;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * The engine's pool, seen from outside: times the claim, share and run-end statements the engine
 * prepares on it, from the call to the last row received (pg_stat_statements gives the server's
 * mean and max, not percentiles). The engine is unchanged; it only gets this {@link DataSource}.
 */
final class TimedDataSource implements DataSource {

    /** The statements timed, told apart by a fragment only their text has. */
    enum Kind {
        CLAIM,
        SHARE,
        FINISH;

        static Kind of(String sql) {
            if (sql.contains("for update skip locked") && sql.contains("insert into task_runs")) {
                return CLAIM;
            }
            if (sql.contains("live_plus_me")) {
                return SHARE;
            }
            if (sql.contains("released as") && sql.contains("ended as")) {
                return FINISH;
            }
            return null;
        }
    }

    private static final Set<String> EXECUTE = Set.of("execute", "executeQuery", "executeUpdate");

    private final DataSource delegate;
    private final Map<Kind, Samples> micros;
    /** Whether samples are kept now (the measured window). */
    private final BooleanSupplier recording;

    TimedDataSource(DataSource delegate, Map<Kind, Samples> micros, BooleanSupplier recording) {
        this.delegate = delegate;
        this.micros = new EnumMap<>(micros);
        this.recording = recording;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return wrap(delegate.getConnection());
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
        return wrap(delegate.getConnection(user, password));
    }

    private Connection wrap(Connection connection) {
        InvocationHandler handler = (proxy, method, args) -> {
            Object result = invoke(connection, method, args);
            if (method.getName().equals("prepareStatement") && args != null && args.length == 1) {
                Kind kind = Kind.of((String) args[0]);
                if (kind != null) {
                    return timed((PreparedStatement) result, micros.get(kind));
                }
            }
            return result;
        };
        return (Connection)
                Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, handler);
    }

    private PreparedStatement timed(PreparedStatement statement, Samples samples) {
        InvocationHandler handler = (proxy, method, args) -> {
            if (!EXECUTE.contains(method.getName()) || (args != null && args.length > 0)) {
                return invoke(statement, method, args);
            }
            long start = System.nanoTime();
            Object result = invoke(statement, method, args);
            if (recording.getAsBoolean()) {
                samples.add((System.nanoTime() - start) / 1_000);
            }
            return result;
        };
        return (PreparedStatement) Proxy.newProxyInstance(
                PreparedStatement.class.getClassLoader(), new Class<?>[] {PreparedStatement.class}, handler);
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return delegate.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        delegate.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        delegate.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return delegate.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return delegate.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return delegate.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return delegate.isWrapperFor(type);
    }
}
