package gg.starpets.handlers;

import java.util.BitSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HTTP statuses that count as success, written like "200-299,304". */
final class StatusRanges {

    private static final Pattern PART = Pattern.compile("\\s*(\\d{3})\\s*(?:-\\s*(\\d{3})\\s*)?");

    static final StatusRanges SUCCESSFUL = parse("200-299");

    private final String text;
    private final BitSet statuses;

    private StatusRanges(String text, BitSet statuses) {
        this.text = text;
        this.statuses = statuses;
    }

    static StatusRanges parse(String text) {
        BitSet statuses = new BitSet(600);
        for (String part : text.split(",", -1)) {
            Matcher m = PART.matcher(part);
            if (!m.matches()) {
                throw invalid(text);
            }
            int from = Integer.parseInt(m.group(1));
            int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
            if (from < 100 || to > 599 || from > to) {
                throw invalid(text);
            }
            statuses.set(from, to + 1);
        }
        return new StatusRanges(text.strip(), statuses);
    }

    boolean contains(int status) {
        return status >= 0 && statuses.get(status);
    }

    @Override
    public String toString() {
        return text;
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "param 'success-statuses' must be statuses or ranges of 100-599 such as \"200-299,304\", not '" + text
                        + "'");
    }
}
