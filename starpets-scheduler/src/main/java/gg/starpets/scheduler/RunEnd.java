package gg.starpets.scheduler;

import java.sql.SQLException;

/**
 * What a run's row is given when it ends: its terminal status and error, its last progress, the tail of
 * its output and its result (JSON, null: none). One binding for the statements that end a run, of a task
 * ({@code TaskRepository.FINISH}) or one-off ({@code OneOffRepository.END_RUN}).
 */
record RunEnd(RunStatus status, String error, Double progress, String output, String resultJson) {

    static RunEnd of(RunStatus status, String error, RunContext context) {
        return new RunEnd(
                status,
                error,
                context.progress(),
                context.output(),
                context.result().isEmpty() ? null : Json.write(context.result()));
    }

    /** A run that ends with an error and nothing else to keep (its row could not be read). */
    static RunEnd failed(String error) {
        return new RunEnd(RunStatus.FAILED, error, null, null, null);
    }

    /** Binds {@code :status, :error, :progress, :output, :result} and {@code :run}. */
    NamedSql.Statement bind(NamedSql.Statement st, long runId) throws SQLException {
        return st.set("status", status.name())
                .set("error", error)
                .set("progress", progress)
                .set("output", output)
                .set("result", resultJson)
                .set("run", runId);
    }
}
