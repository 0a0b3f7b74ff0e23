package gg.starpets.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;

/** Where an instance's unique id comes from: INSTANCE_ID, else HOSTNAME, else host name and pid. */
public final class InstanceIdentity {

    public static final String PROPERTY = "starpets.instance-id";

    private InstanceIdentity() {}

    public static String resolve(Map<String, String> env) {
        String explicit = env.get("INSTANCE_ID");
        if (explicit != null && !explicit.isBlank()) {
            return explicit.strip();
        }
        // Docker gives every replica of a scaled service its own HOSTNAME.
        String hostname = env.get("HOSTNAME");
        if (hostname != null && !hostname.isBlank()) {
            return hostname.strip();
        }
        return hostName() + "-" + ProcessHandle.current().pid();
    }

    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
