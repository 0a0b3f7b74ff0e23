package gg.starpets.web;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;

/** A task's version as an entity tag: {@code ETag: "7"}; {@code If-Match: "7"} makes a change conditional on it. */
final class Etags {

    private static final Pattern TAG = Pattern.compile("(?:W/)?\"(\\d{1,18})\"");

    private Etags() {}

    static String of(long version) {
        return "\"" + version + "\"";
    }

    /** The version an {@code If-Match} asks for; null when absent or {@code *} (any version). */
    static Long version(String ifMatch) {
        if (ifMatch == null || ifMatch.isBlank() || ifMatch.strip().equals("*")) {
            return null;
        }
        Matcher m = TAG.matcher(ifMatch.strip());
        if (!m.matches()) {
            // No version of ours looks like that: the precondition cannot hold.
            throw new ApiException(
                    HttpStatus.PRECONDITION_FAILED,
                    "version_mismatch",
                    "Stale version",
                    "If-Match must be an entity tag this API gave, such as \"7\"");
        }
        return Long.parseLong(m.group(1));
    }
}
