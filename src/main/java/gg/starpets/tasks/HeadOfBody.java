package gg.starpets.tasks;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/** Reads a whole response body but keeps only its first bytes: an answer of any size costs bounded memory. */
final class HeadOfBody implements HttpResponse.BodySubscriber<HeadOfBody.Body> {

    /** The first bytes of a body, and how long the whole body was. */
    record Body(byte[] head, long bytes) {

        String text() {
            return new String(head, StandardCharsets.UTF_8);
        }

        boolean truncated() {
            return bytes > head.length;
        }
    }

    private final int keep;
    private final ByteArrayOutputStream head = new ByteArrayOutputStream();
    private final CompletableFuture<Body> body = new CompletableFuture<>();
    private long bytes;

    HeadOfBody(int keep) {
        this.keep = keep;
    }

    @Override
    public CompletionStage<Body> getBody() {
        return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
        for (ByteBuffer item : items) {
            int length = item.remaining();
            bytes += length;
            int room = keep - head.size();
            if (room > 0) {
                byte[] chunk = new byte[Math.min(room, length)];
                item.get(chunk);
                head.writeBytes(chunk);
            }
        }
    }

    @Override
    public void onError(Throwable throwable) {
        body.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
        body.complete(new Body(head.toByteArray(), bytes));
    }
}
