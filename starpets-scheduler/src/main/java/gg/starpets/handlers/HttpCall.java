package gg.starpets.handlers;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** The parameters of an {@code http} task, as written: placeholders not yet replaced. */
record HttpCall(
        String url,
        String method,
        Map<String, String> headers,
        String body,
        Duration timeout,
        StatusRanges success,
        boolean followRedirects) {

    static final Set<String> PARAMS =
            Set.of("url", "method", "headers", "body", "timeout", "success-statuses", "follow-redirects");
    private static final Pattern METHOD = Pattern.compile("[A-Za-z]{1,20}");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /** Headers the client sets itself, from the request and the connection. */
    private static final Set<String> CLIENT_HEADERS = Set.of(
            "host",
            "content-length",
            "connection",
            "expect",
            "upgrade",
            "transfer-encoding",
            "te",
            "trailer",
            "keep-alive",
            "proxy-connection");

    static HttpCall parse(Map<String, Object> params) {
        HandlerParams.allowOnly(params, PARAMS);
        String url = HandlerParams.requiredString(params, "url").strip();
        String method = HandlerParams.string(params, "method");
        method = method == null ? "GET" : method.strip().toUpperCase(Locale.ROOT);
        if (!METHOD.matcher(method).matches()) {
            throw new IllegalArgumentException(
                    "param 'method' must be an HTTP method such as GET or POST, not '" + method + "'");
        }
        Map<String, String> headers = HandlerParams.stringMap(params, "headers");
        for (String name : headers.keySet()) {
            if (name.toLowerCase(Locale.ROOT).startsWith("x-starpets-")) {
                throw new IllegalArgumentException(
                        "param 'headers." + name + "': X-StarPets-* headers are set by the handler");
            }
        }
        String statuses = HandlerParams.string(params, "success-statuses");
        Boolean follow = HandlerParams.bool(params, "follow-redirects");
        return new HttpCall(
                url,
                method,
                Map.copyOf(headers),
                HandlerParams.string(params, "body"),
                HandlerParams.duration(params, "timeout"),
                statuses == null ? StatusRanges.SUCCESSFUL : StatusRanges.parse(statuses),
                // A redirected GET is still the same question; a redirected POST would silently become a GET.
                follow != null ? follow : method.equals("GET") || method.equals("HEAD"));
    }

    /**
     * Fails when a header cannot be sent as given, its placeholders replaced: a malformed name or value
     * (a line break would start another header), or one the client sets itself. Never quotes the value.
     */
    static void checkHeader(String name, String value) {
        if (!TOKEN.matcher(name).matches()
                || CLIENT_HEADERS.contains(name.toLowerCase(Locale.ROOT))
                || value.chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
            throw new IllegalArgumentException("param 'headers." + name
                    + "' cannot be sent: a malformed name or value, or a header the HTTP client sets itself");
        }
    }

    /** The secrets the request uses anywhere (url, headers, body). */
    Set<String> secrets() {
        Set<String> names = new LinkedHashSet<>(EnvPlaceholders.variables(url));
        names.addAll(carriedSecrets());
        return names;
    }

    /** The secrets a redirected request carries on: those in its headers and body (the URL is the new one). */
    Set<String> carriedSecrets() {
        Set<String> names = new LinkedHashSet<>(EnvPlaceholders.variables(body));
        headers.values().forEach(v -> names.addAll(EnvPlaceholders.variables(v)));
        return names;
    }

    /** How the call is named in errors: method and URL as written, so no secret from the environment shows. */
    String describe() {
        return method + " " + url;
    }
}
