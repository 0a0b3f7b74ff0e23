package gg.starpets.handlers;

import java.net.InetAddress;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A host as settings name it: {@code api.example.org}, {@code *.example.org} (any name below it), or
 * an IP literal ({@code 10.0.0.5}, {@code [::1]}), each optionally with {@code :port}. Names match a
 * URL's host as written; literals match the address too.
 *
 * @param name lower case, without a trailing dot; {@code *.example.org} for a wildcard
 * @param address the address of an IP literal, else null
 * @param port -1: any
 */
record HostPattern(String name, InetAddress address, int port) {

    private static final Pattern NAME =
            Pattern.compile("(\\*\\.)?([a-z0-9_]([a-z0-9_-]{0,62})?)(\\.[a-z0-9_]([a-z0-9_-]{0,62})?)*");

    static HostPattern parse(String text) {
        String host = text.strip();
        int port = -1;
        int colon = host.lastIndexOf(':');
        boolean bracketed = host.startsWith("[");
        if (colon > 0 && (bracketed ? host.lastIndexOf(']') < colon : host.indexOf(':') == colon)) {
            port = port(text, host.substring(colon + 1));
            host = host.substring(0, colon);
        }
        InetAddress literal = AddressBlock.literal(host);
        if (literal != null) {
            return new HostPattern(literal.getHostAddress().toLowerCase(Locale.ROOT), literal, port);
        }
        String name = normalized(host);
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a host, *.domain, or either with :port");
        }
        return new HostPattern(name, null, port);
    }

    private static int port(String text, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("'" + text + "': the port must be 1-65535");
    }

    /** A URL's host as it is compared: lower case, without brackets or a trailing dot, literals in one form. */
    static String normalized(String host) {
        InetAddress literal = AddressBlock.literal(host);
        if (literal != null) {
            return literal.getHostAddress().toLowerCase(Locale.ROOT);
        }
        String h = host.toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    /** Whether a URL's host (as written) and port are this. */
    boolean matches(String host, int port) {
        if (this.port != -1 && this.port != port) {
            return false;
        }
        String h = normalized(host);
        return name.startsWith("*.") ? h.endsWith(name.substring(1)) : h.equals(name);
    }

    /** Whether a connection to this address and port is this (only for an IP literal). */
    boolean matches(InetAddress address, int port) {
        return this.address != null && this.address.equals(address) && (this.port == -1 || this.port == port);
    }

    @Override
    public String toString() {
        String host = address != null && name.contains(":") ? "[" + name + "]" : name;
        return port == -1 ? host : host + ":" + port;
    }
}
