package com.example.reports;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The handler {@code mail-report} (its bean name): the task {@code mail-daily-report} in application.yml
 * runs it. It notes in the application's own table when each run starts and ends, then "mails" the report
 * (here: takes {@code report.mail-time}).
 */
@Component("mail-report")
class ReportMailer implements TaskHandler {

    private final JdbcClient db;
    private final String instance;
    private final Duration mailTime;

    ReportMailer(
            JdbcClient db,
            @Value("${starpets.instance-id}") String instance,
            @Value("${report.mail-time:2s}") Duration mailTime) {
        this.db = db;
        this.instance = instance;
        this.mailTime = mailTime;
    }

    @Override
    public void run(RunContext context) throws Exception {
        long row = db.sql("insert into report_runs (instance, run_id, started_at) values (?, ?, clock_timestamp())"
                        + " returning id")
                .params(instance, context.runId())
                .query(Long.class)
                .single();
        context.sleep(mailTime);
        db.sql("update report_runs set ended_at = clock_timestamp() where id = ?")
                .param(row)
                .update();
    }
}
