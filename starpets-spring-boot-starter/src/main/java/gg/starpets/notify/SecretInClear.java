package gg.starpets.notify;

import java.util.regex.Pattern;

/**
 * Refuses a webhook written with a credential in clear, which would be stored as written in the
 * database (a task's {@code notify}): the secret part must be a {@code ${NAME}} placeholder, resolved
 * from {@code STARPETS_TASK_SECRETS} when it is sent (docs/notifications.md, "Secrets"). Judged on the
 * text outside placeholders:
 *
 * <ul>
 *   <li>user information ({@code https://user:password@host/}) written other than as placeholders (a
 *       token may be the user name alone);
 *   <li>a query parameter whose value (or, without {@code =}, whose text) is not a placeholder;
 *   <li>a path segment that looks like a token: {@value #TOKEN_LENGTH} or more characters, all from
 *       {@code A-Z a-z 0-9 _ -}, with at least one capital letter or digit (a Slack or Discord webhook's
 *       last segment, a UUID); a path of lowercase words ({@code /notifications-webhook}) is not one.
 * </ul>
 */
public final class SecretInClear extends IllegalArgumentException {

    /** The problem code of the API's refusal. */
    public static final String CODE = "secret_in_clear";

    static final int TOKEN_LENGTH = 20;

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{[^}]*}");
    /** Stands for a placeholder in the text judged: not a character a token or a credential is made of. */
    private static final char MARK = '\u0000';

    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{" + TOKEN_LENGTH + ",}");
    private static final Pattern CAPITAL_OR_DIGIT = Pattern.compile(".*[A-Z0-9].*");

    private SecretInClear(String message) {
        super(message);
    }

    /** Throws when {@code url} (the value of {@code key}) carries a credential in clear; says where, not what. */
    static void check(String key, String url) {
        String where = where(url);
        if (where != null) {
            throw new SecretInClear(key + " carries a credential in clear (" + where
                    + "): write the secret part as ${NAME}, resolved from STARPETS_TASK_SECRETS when it is sent"
                    + " (docs/notifications.md)");
        }
    }

    /** Where {@code url} carries a credential in clear, or null. */
    static String where(String url) {
        if (url == null) {
            return null;
        }
        String text = PLACEHOLDER.matcher(url).replaceAll(String.valueOf(MARK));
        int fragment = text.indexOf('#');
        if (fragment >= 0) {
            text = text.substring(0, fragment);
        }
        int scheme = text.indexOf("://");
        int start = scheme < 0 ? 0 : scheme + 3;
        int pathStart = start;
        while (pathStart < text.length() && "/?".indexOf(text.charAt(pathStart)) < 0) {
            pathStart++;
        }
        String authority = text.substring(start, pathStart);
        int at = authority.lastIndexOf('@');
        if (at >= 0
                && !authority
                        .substring(0, at)
                        .replace(String.valueOf(MARK), "")
                        .replace(":", "")
                        .isEmpty()) {
            return "user information";
        }
        int queryStart = text.indexOf('?', pathStart);
        String path = text.substring(pathStart, queryStart < 0 ? text.length() : queryStart);
        for (String segment : path.split("[/" + MARK + "]")) {
            if (TOKEN.matcher(segment).matches()
                    && CAPITAL_OR_DIGIT.matcher(segment).matches()) {
                return "a path segment that looks like a token";
            }
        }
        if (queryStart >= 0) {
            for (String parameter : text.substring(queryStart + 1).split("&")) {
                String value = parameter.substring(parameter.indexOf('=') + 1);
                if (!value.isEmpty() && !value.equals(String.valueOf(MARK))) {
                    return "a query string";
                }
            }
        }
        return null;
    }
}
