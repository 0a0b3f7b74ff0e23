package gg.starpets.config;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.flywaydb.core.api.configuration.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upgrade from the layout before {@code starpets.db.schema} (StarPets' tables and migration history in
 * {@code public}): right before the migrations, in one transaction as the schema's owner, the tables, the
 * history and the fenced commit's function move to the schema. Only when public's history holds StarPets'
 * migrations and the schema has no history of its own; other tables in public stay where they are,
 * untouched. Indexes, constraints and the tables' sequences move with their tables; row data, ids and
 * privileges are kept. Instances started together: one moves, the others then find the schema's history.
 */
final class LegacyLayout {

    private static final Logger log = LoggerFactory.getLogger(LegacyLayout.class);

    /**
     * The tables the migrations of that layout (V1 to V21) created in public; the migrations since create
     * theirs in the schema. A name missing from a database (an older version) is skipped.
     */
    static final List<String> TABLES = List.of(
            "tasks",
            "task_runs",
            "instances",
            "users",
            "scheduler_epoch",
            "task_events",
            "balance_changes",
            "balance_idempotency_keys",
            "balance_changes_pruned",
            "task_notify",
            "notifications",
            "notify_scan",
            "backfills");

    /** The first migration's script: a history in public that has it is StarPets' own. */
    private static final String FIRST_MIGRATION = "V1__scheduler_schema.sql";

    private LegacyLayout() {}

    static void moveToSchema(Configuration flyway) {
        String schema = flyway.getDefaultSchema();
        if (schema == null || schema.equals("public")) {
            return;
        }
        try (Connection c = flyway.getDataSource().getConnection()) {
            c.setAutoCommit(false);
            try {
                boolean moved = moveInTransaction(c, schema, flyway.getTable());
                c.commit();
                if (moved) {
                    log.info("Moved StarPets' tables and migration history from schema public to schema {}", schema);
                }
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "Could not move StarPets' tables from schema public to schema " + schema
                            + " (starpets.db.schema, DB_SCHEMA); nothing was moved",
                    e);
        }
    }

    private static boolean moveInTransaction(Connection c, String schema, String history) throws SQLException {
        try (Statement st = c.createStatement()) {
            // Instances started together: one at a time, each deciding on what the one before left.
            st.execute("select pg_advisory_xact_lock(hashtext('starpets.legacy-layout'))");
            if (!exists(c, "public", history) || exists(c, schema, history) || !historyIsStarPets(c, history)) {
                return false;
            }
            // The schema name is a plain identifier (StarPetsProperties.Db), so it may stand in the text.
            st.execute("create schema if not exists " + schema);
            for (String table : TABLES) {
                if (exists(c, "public", table)) {
                    st.execute("alter table public." + table + " set schema " + schema);
                }
            }
            st.execute("alter table public." + quote(history) + " set schema " + schema);
            if (lockFenceInPublic(c)) {
                st.execute("alter function public.starpets_lock_fence(text, bigint, bigint) set schema " + schema);
                // Its search_path was fixed to public by V13 (${flyway:defaultSchema} then): it would not find tasks.
                st.execute("alter function " + schema + ".starpets_lock_fence(text, bigint, bigint)"
                        + " set search_path = " + schema + ", pg_catalog, pg_temp");
            }
            return true;
        }
    }

    private static boolean exists(Connection c, String schema, String table) throws SQLException {
        try (var st = c.prepareStatement("select to_regclass(format('%I.%I', ?::text, ?::text)) is not null")) {
            st.setString(1, schema);
            st.setString(2, table);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static boolean historyIsStarPets(Connection c, String history) throws SQLException {
        try (var st = c.prepareStatement(
                "select exists (select from public." + quote(history) + " where script = ? and success)")) {
            st.setString(1, FIRST_MIGRATION);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private static boolean lockFenceInPublic(Connection c) throws SQLException {
        try (var st = c.createStatement();
                ResultSet rs = st.executeQuery(
                        "select to_regprocedure('public.starpets_lock_fence(text, bigint, bigint)') is not null")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
