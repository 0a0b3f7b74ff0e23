package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Daily and weekly crons across both daylight-saving changes of 2026 in Berlin and New York. A local
 * time that does not exist fires once, at the first valid instant after it (the day is not skipped);
 * a local time that occurs twice fires once, the first time. Every case is pinned to UTC instants.
 */
class DaylightSavingTest {

    /** The fire times strictly after {@code from}, as many as asked. */
    private static List<String> fires(String cron, String zone, String from, int count) {
        Schedule schedule = Schedule.parse(cron, ZoneId.of(zone));
        List<String> times = new ArrayList<>();
        Instant t = Instant.parse(from);
        for (int i = 0; i < count; i++) {
            t = schedule.next(t);
            times.add(t.toString());
        }
        return times;
    }

    @ParameterizedTest(name = "{0} daily {1}: spring forward")
    @CsvSource(delimiter = '|', textBlock = """
            # Berlin: 2026-03-29 02:00 CET -> 03:00 CEST. 02:30 does not exist: it runs at 03:00 CEST (01:00Z).
            Europe/Berlin    | 30 2 * * * | 2026-03-28T00:00:00Z | 2026-03-28T01:30:00Z,2026-03-29T01:00:00Z,2026-03-30T00:30:00Z
            # 02:00 itself does not exist either: also 03:00 CEST.
            Europe/Berlin    | 0 2 * * *  | 2026-03-28T00:00:00Z | 2026-03-28T01:00:00Z,2026-03-29T01:00:00Z,2026-03-30T00:00:00Z
            # A time that exists is untouched: 01:30 CET, then 01:30 CEST.
            Europe/Berlin    | 30 1 * * * | 2026-03-28T00:00:00Z | 2026-03-28T00:30:00Z,2026-03-29T00:30:00Z,2026-03-29T23:30:00Z
            # New York: 2026-03-08 02:00 EST -> 03:00 EDT. 02:30 runs at 03:00 EDT (07:00Z).
            America/New_York | 30 2 * * * | 2026-03-07T00:00:00Z | 2026-03-07T07:30:00Z,2026-03-08T07:00:00Z,2026-03-09T06:30:00Z
            America/New_York | 30 1 * * * | 2026-03-07T00:00:00Z | 2026-03-07T06:30:00Z,2026-03-08T06:30:00Z,2026-03-09T05:30:00Z
            """)
    void springForward(String zone, String cron, String from, String expected) {
        assertThat(fires(cron, zone, from, 3)).containsExactly(expected.split(","));
    }

    @ParameterizedTest(name = "{0} daily {1}: fall back")
    @CsvSource(delimiter = '|', textBlock = """
            # Berlin: 2026-10-25 03:00 CEST -> 02:00 CET. 02:30 occurs twice: it runs once, at 02:30 CEST (00:30Z).
            Europe/Berlin    | 30 2 * * * | 2026-10-24T00:00:00Z | 2026-10-24T00:30:00Z,2026-10-25T00:30:00Z,2026-10-26T01:30:00Z
            Europe/Berlin    | 0 2 * * *  | 2026-10-23T12:00:00Z | 2026-10-24T00:00:00Z,2026-10-25T00:00:00Z,2026-10-26T01:00:00Z
            # New York: 2026-11-01 02:00 EDT -> 01:00 EST. 01:30 occurs twice: once, at 01:30 EDT (05:30Z).
            America/New_York | 30 1 * * * | 2026-10-31T00:00:00Z | 2026-10-31T05:30:00Z,2026-11-01T05:30:00Z,2026-11-02T06:30:00Z
            America/New_York | 0 1 * * *  | 2026-10-31T00:00:00Z | 2026-10-31T05:00:00Z,2026-11-01T05:00:00Z,2026-11-02T06:00:00Z
            """)
    void fallBack(String zone, String cron, String from, String expected) {
        assertThat(fires(cron, zone, from, 3)).containsExactly(expected.split(","));
    }

    @ParameterizedTest(name = "{0} weekly {1} from {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # Sundays at 02:30 in Berlin: the spring Sunday runs at 03:00 CEST; the autumn one once, in CEST.
            Europe/Berlin    | 30 2 * * 0 | 2026-03-20T00:00:00Z | 2026-03-22T01:30:00Z,2026-03-29T01:00:00Z,2026-04-05T00:30:00Z
            Europe/Berlin    | 30 2 * * 0 | 2026-10-17T00:00:00Z | 2026-10-18T00:30:00Z,2026-10-25T00:30:00Z,2026-11-01T01:30:00Z
            # Sundays at 02:30 and 01:30 in New York.
            America/New_York | 30 2 * * 0 | 2026-03-01T12:00:00Z | 2026-03-08T07:00:00Z,2026-03-15T06:30:00Z,2026-03-22T06:30:00Z
            America/New_York | 30 1 * * 0 | 2026-10-25T12:00:00Z | 2026-11-01T05:30:00Z,2026-11-08T06:30:00Z,2026-11-15T06:30:00Z
            """)
    void weekly(String zone, String cron, String from, String expected) {
        assertThat(fires(cron, zone, from, 3)).containsExactly(expected.split(","));
    }

    @ParameterizedTest(name = "{0} every 30 minutes follows elapsed time")
    @CsvSource(delimiter = '|', textBlock = """
            # Every half hour (hour field '*'): both passes of the repeated hour, nothing missing in spring.
            Europe/Berlin    | 2026-10-24T23:45:00Z | 2026-10-25T00:00:00Z,2026-10-25T00:30:00Z,2026-10-25T01:00:00Z,2026-10-25T01:30:00Z,2026-10-25T02:00:00Z
            Europe/Berlin    | 2026-03-28T23:45:00Z | 2026-03-29T00:00:00Z,2026-03-29T00:30:00Z,2026-03-29T01:00:00Z,2026-03-29T01:30:00Z,2026-03-29T02:00:00Z
            """)
    void everyHourCronsFollowElapsedTime(String zone, String from, String expected) {
        assertThat(fires("*/30 * * * *", zone, from, 5)).containsExactly(expected.split(","));
    }

    @ParameterizedTest(name = "{0} {1} from {2}: the repeated hour's second pass")
    @CsvSource(delimiter = '|', textBlock = """
            # Every second of 02:xx in Berlin, asked from inside the second pass of 2026-10-25 02:00-03:00 (CET,
            # 01:30Z): every one of its times fired in the first pass; next is 02:00 CET the next day.
            Europe/Berlin    | * * 2 * * *    | 2026-10-25T01:30:00Z | 2026-10-26T01:00:00Z,2026-10-26T01:00:01Z
            # Every 5 minutes of 01:xx in New York, from the second pass of 2026-11-01 01:00-02:00 (EST, 06:10Z).
            America/New_York | 0 */5 1 * * * | 2026-11-01T06:10:00Z | 2026-11-02T06:00:00Z,2026-11-02T06:05:00Z
            # And from the first pass: the rest of the first pass, once.
            Europe/Berlin    | * * 2 * * *    | 2026-10-25T00:59:58Z | 2026-10-25T00:59:59Z,2026-10-26T01:00:00Z
            """)
    void aSixFieldCronWithAFixedHourGoesOnAfterTheRepeatedHour(String zone, String cron, String from, String expected) {
        assertThat(fires(cron, zone, from, 2)).containsExactly(expected.split(","));
    }
}
