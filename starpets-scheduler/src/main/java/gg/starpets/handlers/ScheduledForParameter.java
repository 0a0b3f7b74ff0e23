package gg.starpets.handlers;

import java.time.Instant;

/**
 * The {@code :scheduled_for} parameter of an {@code sql} task's statement: each place it stands as a
 * parameter becomes the run's time as a {@code timestamptz} literal. The statement is sent as text
 * (a statement of the simple protocol may hold {@code ?} operators, which a prepared one would take
 * for parameters), so the parameter is written in; the time is the engine's, never a user's text.
 * Where it is not a parameter it stays as written: in quotes ({@code '…'}, {@code E'…'},
 * {@code "…"}, {@code $tag$…$tag$}), in comments, after {@code ::} or as the start of a longer name
 * ({@code :scheduled_for_x}).
 */
final class ScheduledForParameter {

    static final String NAME = ":scheduled_for";

    private ScheduledForParameter() {}

    /** {@code sql} with {@code :scheduled_for} bound to {@code time}; unchanged if it does not use it. */
    static String bind(String sql, Instant time) {
        if (!sql.contains(NAME)) {
            return sql;
        }
        String literal = "cast('" + time + "' as timestamptz)";
        StringBuilder out = new StringBuilder(sql.length() + 32);
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char ch = sql.charAt(i);
            int end;
            if (ch == '\'') {
                boolean escapes =
                        i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e') && !identifierAt(sql, i - 2);
                end = quoted(sql, i, '\'', escapes);
            } else if (ch == '"') {
                end = quoted(sql, i, '"', false);
            } else if (ch == '-' && sql.startsWith("--", i)) {
                int eol = sql.indexOf('\n', i);
                end = eol < 0 ? n : eol + 1;
            } else if (ch == '/' && sql.startsWith("/*", i)) {
                end = blockComment(sql, i);
            } else if (ch == '$' && !identifierAt(sql, i - 1)) {
                end = dollarQuoted(sql, i);
            } else if (ch == ':' && sql.startsWith("::", i)) {
                // A cast: the type that follows is a name, not a parameter.
                end = i + 2;
                while (end < n && identifierPart(sql.charAt(end))) {
                    end++;
                }
            } else if (ch == ':' && sql.startsWith(NAME, i) && !identifierAt(sql, i + NAME.length())) {
                out.append(literal);
                i += NAME.length();
                continue;
            } else {
                end = i + 1;
            }
            out.append(sql, i, end);
            i = end;
        }
        return out.toString();
    }

    /** The end (exclusive) of the text quoted from {@code start}; a doubled quote is one quote. */
    private static int quoted(String sql, int start, char quote, boolean backslashEscapes) {
        int i = start + 1;
        while (i < sql.length()) {
            char ch = sql.charAt(i);
            if (backslashEscapes && ch == '\\') {
                i += 2;
            } else if (ch == quote) {
                if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            } else {
                i++;
            }
        }
        return sql.length();
    }

    /** The end of a block comment from {@code start}; they nest in PostgreSQL. */
    private static int blockComment(String sql, int start) {
        int depth = 0;
        int i = start;
        while (i < sql.length()) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return sql.length();
    }

    /** The end of a dollar-quoted string from {@code start}, or just past the {@code $} if it is none ($1). */
    private static int dollarQuoted(String sql, int start) {
        int tagEnd = start + 1;
        boolean positional = tagEnd < sql.length() && Character.isDigit(sql.charAt(tagEnd));
        while (!positional && tagEnd < sql.length() && tagPart(sql.charAt(tagEnd))) {
            tagEnd++;
        }
        if (tagEnd >= sql.length() || sql.charAt(tagEnd) != '$') {
            return start + 1;
        }
        String tag = sql.substring(start, tagEnd + 1);
        int close = sql.indexOf(tag, tagEnd + 1);
        return close < 0 ? sql.length() : close + tag.length();
    }

    private static boolean identifierAt(String sql, int i) {
        return i >= 0 && i < sql.length() && identifierPart(sql.charAt(i));
    }

    private static boolean tagPart(char ch) {
        return Character.isLetterOrDigit(ch) || ch == '_';
    }

    private static boolean identifierPart(char ch) {
        return Character.isLetterOrDigit(ch) || ch == '_' || ch == '$';
    }
}
