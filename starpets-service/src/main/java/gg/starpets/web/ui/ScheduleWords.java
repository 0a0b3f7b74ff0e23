package gg.starpets.web.ui;

import gg.starpets.scheduler.Schedule;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Month;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A schedule in words for the console: "every 2 minutes", "at 03:00 every day", "30 s after each
 * run". Covers the forms people write; anything else is shown as the expression itself.
 */
final class ScheduleWords {

    private static final Pattern NUMBER = Pattern.compile("\\d{1,2}");
    private static final Pattern STEP = Pattern.compile("\\*/(\\d{1,2})");

    private ScheduleWords() {}

    static String describe(String expression) {
        if (expression == null || expression.isBlank()) {
            return "";
        }
        String text = expression.strip();
        if (Schedule.ONCE.equalsIgnoreCase(text)) {
            return "once, at its set time";
        }
        try {
            Duration delay = Schedule.Interval.parseDuration(text);
            if (delay != null) {
                return delay(delay) + " after each run";
            }
        } catch (IllegalArgumentException e) {
            return text;
        }
        String cron = Schedule.Cron.expanded(text);
        if (cron == null) {
            return text;
        }
        String[] f = cron.split("\\s+");
        String words = switch (f.length) {
            case 5 -> cron("0", f[0], f[1], f[2], f[3], f[4]);
            case 6 -> cron(f[0], f[1], f[2], f[3], f[4], f[5]);
            default -> null;
        };
        return words == null ? text : words;
    }

    /** 30 s, 1 min, 90 s, 2 h; whole units only where they are whole. */
    static String delay(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0) {
            return ms / 86_400_000 + " d";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + " h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + " min";
        }
        if (ms % 1_000 == 0) {
            return ms / 1_000 + " s";
        }
        return ms < 1_000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    private static String cron(String sec, String min, String hour, String dom, String month, String dow) {
        boolean anyDay = any(dom) && any(month) && any(dow);
        // Sub-minute and sub-hour repetition: only when nothing else narrows it.
        if (!sec.equals("0")) {
            if (!(any(min) && any(hour) && anyDay)) {
                return null;
            }
            if (any(sec)) {
                return "every second";
            }
            Integer step = step(sec);
            return step == null ? null : every(step, "second");
        }
        if (any(hour) && anyDay) {
            if (any(min)) {
                return "every minute";
            }
            Integer step = step(min);
            if (step != null) {
                return every(step, "minute");
            }
            if (number(min) != null) {
                return number(min) == 0 ? "every hour" : "at " + minutePast(number(min)) + " every hour";
            }
            return null;
        }
        Integer m = number(min);
        if (m == null) {
            return null;
        }
        Integer hourStep = step(hour);
        if (hourStep != null && anyDay) {
            String each = every(hourStep, "hour");
            return m == 0 ? each : "at " + minutePast(m) + " " + each;
        }
        List<Integer> hours = numbers(hour, 23);
        if (hours == null) {
            return null;
        }
        String at =
                "at " + String.join(", ", hours.stream().map(h -> clock(h, m)).toList());
        if (anyDay) {
            return at + " every day";
        }
        if (any(dom) && any(month)) {
            String days = weekdays(dow);
            return days == null ? null : at + " " + days;
        }
        if (!any(dow)) {
            return null;
        }
        Integer day = number(dom);
        if (day == null || day < 1 || day > 31) {
            return null;
        }
        if (any(month)) {
            return at + " on day " + day + " of every month";
        }
        Integer mon = number(month);
        if (mon == null || mon < 1 || mon > 12) {
            return null;
        }
        return at + " on " + day + " " + Month.of(mon).getDisplayName(TextStyle.FULL, Locale.ENGLISH) + " every year";
    }

    private static String weekdays(String dow) {
        String normalized = dow.toUpperCase(Locale.ROOT);
        if (normalized.equals("1-5") || normalized.equals("MON-FRI")) {
            return "on weekdays";
        }
        if (normalized.equals("0,6") || normalized.equals("6,0") || normalized.equals("SAT,SUN")) {
            return "on weekends";
        }
        List<String> names = new ArrayList<>();
        for (String part : dow.split(",")) {
            DayOfWeek day = day(part);
            if (day == null) {
                return null;
            }
            names.add(day.getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        }
        return "on " + String.join(", ", names);
    }

    private static DayOfWeek day(String text) {
        Integer n = number(text);
        if (n != null) {
            // Cron counts Sunday as 0 (and 7).
            return n >= 0 && n <= 7 ? DayOfWeek.of(n == 0 ? 7 : n) : null;
        }
        for (DayOfWeek d : DayOfWeek.values()) {
            if (d.getDisplayName(TextStyle.SHORT, Locale.ENGLISH).equalsIgnoreCase(text)) {
                return d;
            }
        }
        return null;
    }

    private static boolean any(String field) {
        return field.equals("*") || field.equals("?");
    }

    private static Integer step(String field) {
        var m = STEP.matcher(field);
        return m.matches() ? Integer.parseInt(m.group(1)) : null;
    }

    private static Integer number(String field) {
        return NUMBER.matcher(field).matches() ? Integer.parseInt(field) : null;
    }

    private static List<Integer> numbers(String field, int max) {
        List<Integer> values = new ArrayList<>();
        for (String part : field.split(",")) {
            Integer n = number(part);
            if (n == null || n > max) {
                return null;
            }
            values.add(n);
        }
        return values;
    }

    private static String every(int n, String unit) {
        return n == 1 ? "every " + unit : "every " + n + " " + unit + "s";
    }

    private static String minutePast(int minute) {
        return String.format(Locale.ROOT, ":%02d", minute);
    }

    private static String clock(int hour, int minute) {
        return String.format(Locale.ROOT, "%02d:%02d", hour, minute);
    }
}
