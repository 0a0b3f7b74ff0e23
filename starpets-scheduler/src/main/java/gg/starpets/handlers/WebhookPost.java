package gg.starpets.handlers;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One POST of JSON to a webhook that a task's {@code notify} names (package {@code notify}), sent as an
 * {@code http} task's request is: the URL may use task secrets ({@code ${NAME}}, {@link TaskSecrets},
 * bound hosts respected), redirects are not followed, and for a task created over the API every address
 * connected to is checked against {@link HttpDestinations} on the socket, as for its http tasks.
 */
public final class WebhookPost {

    private final EnvPlaceholders placeholders;
    private final TaskSecrets secrets;
    private final HttpDestinations destinations;
    private final OutboundHttp outbound = new OutboundHttp(OutboundHttp.SYSTEM);

    public WebhookPost(TaskSecrets secrets, HttpDestinations destinations) {
        this.placeholders = new EnvPlaceholders(secrets, true);
        this.secrets = secrets;
        this.destinations = destinations;
    }

    /**
     * Checks a webhook as a task's definition writes it: an absolute http or https URL once its
     * placeholders are resolved, each of them readable and allowed to go to its host; for a task created
     * over the API, not an internal address written as such. Throws {@link IllegalArgumentException}
     * saying why, without the resolved URL.
     */
    public void check(String webhook, boolean fromApi) {
        placeholders.check("notify.webhook", webhook);
        URI uri = uri(webhook);
        String refusal = secrets.refusalToSend(EnvPlaceholders.variables(webhook), uri.getHost(), port(uri));
        if (refusal == null && fromApi) {
            refusal = destinations.refusalAsWritten(uri);
        }
        if (refusal != null) {
            throw new IllegalArgumentException("notify.webhook: " + refusal);
        }
    }

    /**
     * Posts {@code json} and answers the receiver's status; an answer is read within {@code timeout}.
     * Fails with an {@link IOException} whose message names neither the URL's path nor a secret.
     */
    public int post(String webhook, boolean fromApi, byte[] json, Duration timeout) throws IOException {
        URI uri = uri(webhook);
        Set<String> names = EnvPlaceholders.variables(webhook);
        OutboundHttp.Exchange exchange = outbound.exchange(
                new OutboundHttp.Request(
                        "POST", uri, Map.of("Content-Type", "application/json; charset=utf-8"), json, false),
                (u, hop) -> secrets.refusalToSend(names, u.getHost(), port(u)),
                fromApi ? destinations::refusal : null);
        try {
            return exchange.send(System.nanoTime() + timeout.toNanos()).status();
        } catch (IOException | RuntimeException e) {
            String message = String.valueOf(e.getMessage()).replace(uri.toString(), masked(webhook));
            throw new IOException(secrets.redact(e.getClass().getSimpleName() + ": " + message));
        }
    }

    /**
     * A webhook as it may be shown or logged: its scheme and host only ({@code https://hooks.slack.com/…}),
     * without user information, path or query, which may carry a secret (a Slack webhook's path does).
     */
    public static String masked(String webhook) {
        if (webhook == null) {
            return null;
        }
        int scheme = webhook.indexOf("://");
        if (scheme < 0) {
            return "…";
        }
        int end = scheme + 3;
        while (end < webhook.length() && "/?#".indexOf(webhook.charAt(end)) < 0) {
            end++;
        }
        String authority = webhook.substring(scheme + 3, end);
        String host = authority.substring(authority.lastIndexOf('@') + 1);
        return webhook.substring(0, scheme).toLowerCase(Locale.ROOT) + "://" + host
                + (end < webhook.length() ? "/…" : "");
    }

    private URI uri(String webhook) {
        String resolved = placeholders.resolve("notify.webhook", webhook);
        try {
            URI uri = new URI(resolved);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
                return uri;
            }
        } catch (URISyntaxException e) {
            // reported below, without the resolved text
        }
        throw new IllegalArgumentException(
                "notify.webhook must be an absolute http or https URL, not '" + masked(webhook) + "'");
    }

    private static int port(URI uri) {
        return HttpDestinations.port(uri);
    }
}
