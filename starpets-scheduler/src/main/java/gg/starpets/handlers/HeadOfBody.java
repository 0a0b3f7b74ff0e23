package gg.starpets.handlers;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The first bytes of a response body, and how long the whole body was: an answer of any size costs bounded memory. */
record HeadOfBody(byte[] head, long bytes) {

    static final HeadOfBody EMPTY = new HeadOfBody(new byte[0], 0);

    /** Reads the stream to its end, keeping its first {@code keep} bytes. */
    static HeadOfBody read(InputStream in, int keep) throws IOException {
        byte[] head = new byte[keep];
        int kept = 0;
        long bytes = 0;
        byte[] buffer = new byte[8192];
        int n;
        while ((n = in.read(buffer)) != -1) {
            int room = Math.min(keep - kept, n);
            if (room > 0) {
                System.arraycopy(buffer, 0, head, kept, room);
                kept += room;
            }
            bytes += n;
        }
        return new HeadOfBody(Arrays.copyOf(head, kept), bytes);
    }

    String text() {
        return new String(head, StandardCharsets.UTF_8);
    }

    boolean truncated() {
        return bytes > head.length;
    }
}
