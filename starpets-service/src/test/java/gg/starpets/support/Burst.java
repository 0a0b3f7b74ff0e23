package gg.starpets.support;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Many requests in flight at once: one virtual thread each, all released by one latch, each answer
 * reduced to a short text (its status, the problem's {@code code}, and for a 503 its
 * {@code Retry-After}) counted per target, so that a test can say exactly which answers it allows.
 */
public final class Burst implements AutoCloseable {

    /** One request, and the name of what it was sent to (an instance id). */
    public record Shot(String target, HttpRequest request) {}

    private static final Pattern CODE = Pattern.compile("\"code\"\\s*:\\s*\"([^\"]*)\"");

    private final ExecutorService clientThreads = Executors.newVirtualThreadPerTaskExecutor();
    // 10,000 connections opened in one instant queue in the kernel (its listen backlog is capped);
    // a client waits for its connection as long as a browser would.
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(60))
            .executor(clientThreads)
            .build();
    private final List<Thread> senders = new ArrayList<>();
    private final Map<String, Map<String, Integer>> answers = new ConcurrentHashMap<>();
    private final AtomicInteger answered = new AtomicInteger();
    private final CountDownLatch start = new CountDownLatch(1);

    private Burst() {}

    /** Sends every shot at once, returning when all are on their way. */
    public static Burst fire(List<Shot> shots) throws InterruptedException {
        Burst burst = new Burst();
        CountDownLatch ready = new CountDownLatch(shots.size());
        for (Shot shot : shots) {
            burst.senders.add(Thread.ofVirtual().start(() -> {
                ready.countDown();
                burst.send(shot);
            }));
        }
        if (!ready.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the senders did not start within a minute");
        }
        burst.start.countDown();
        return burst;
    }

    private void send(Shot shot) {
        String answer;
        try {
            start.await();
            answer = describe(client.send(shot.request(), HttpResponse.BodyHandlers.ofString()));
        } catch (IOException e) {
            answer = "connection error";
        } catch (Exception e) {
            answer = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        answers.computeIfAbsent(shot.target(), t -> new ConcurrentHashMap<>()).merge(answer, 1, Integer::sum);
        answered.incrementAndGet();
    }

    /** "200", "409 insufficient_funds", "503 overloaded, Retry-After 1"; anything unexpected with its body. */
    static String describe(HttpResponse<String> response) {
        int status = response.statusCode();
        if (status == 200) {
            return "200";
        }
        Matcher code = CODE.matcher(response.body());
        String answer = status + " " + (code.find() ? code.group(1) : response.body());
        if (status == 503) {
            answer += ", Retry-After "
                    + response.headers().firstValue("Retry-After").orElse("none");
        }
        return answer;
    }

    /** How many requests have their answer (or their error) so far. */
    public int answered() {
        return answered.get();
    }

    /** Waits at most {@code limit} for every answer; returns whether all came. */
    public boolean awaitAll(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        for (Thread sender : senders) {
            sender.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
        return senders.stream().noneMatch(Thread::isAlive);
    }

    /** The answers to the requests sent to {@code target}, counted. */
    public Map<String, Integer> answers(String target) {
        return new TreeMap<>(answers.getOrDefault(target, Map.of()));
    }

    @Override
    public void close() {
        senders.forEach(Thread::interrupt);
        client.shutdownNow();
        clientThreads.shutdownNow();
    }
}
