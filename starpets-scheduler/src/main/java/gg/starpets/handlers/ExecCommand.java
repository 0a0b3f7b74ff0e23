package gg.starpets.handlers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** The parameters of an {@code exec} task, as written: placeholders not yet replaced. */
record ExecCommand(
        List<String> command,
        boolean shell,
        Map<String, String> env,
        boolean inheritEnv,
        String dir,
        Duration killAfter) {

    static final Set<String> PARAMS = Set.of("command", "shell", "env", "inherit-env", "dir", "kill-after");
    static final Duration DEFAULT_KILL_AFTER = Duration.ofSeconds(5);
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    static ExecCommand parse(Map<String, Object> params) {
        HandlerParams.allowOnly(params, PARAMS);
        boolean shell = Boolean.TRUE.equals(HandlerParams.bool(params, "shell"));
        Object value = params.get("command");
        List<String> command = HandlerParams.stringList("command", value);
        if (shell) {
            if (value == null
                    || command != null
                    || value instanceof Map<?, ?>
                    || value.toString().isBlank()) {
                throw new IllegalArgumentException("param 'command' must be one command line (text) with shell: true");
            }
            command = List.of(value.toString());
        } else if (command == null || command.isEmpty() || command.getFirst().isBlank()) {
            throw new IllegalArgumentException("param 'command' must be a list: the program, then its arguments"
                    + " (for a shell command line, give it as text with shell: true)");
        }
        Map<String, String> env = HandlerParams.stringMap(params, "env");
        for (String name : env.keySet()) {
            if (!VARIABLE.matcher(name).matches()) {
                throw new IllegalArgumentException("param 'env." + name + "' is not a valid environment variable name");
            }
            if (name.toUpperCase(Locale.ROOT).startsWith("STARPETS_")) {
                throw new IllegalArgumentException(
                        "param 'env." + name + "': STARPETS_* variables are set by the handler");
            }
        }
        String dir = HandlerParams.string(params, "dir");
        Duration killAfter = HandlerParams.duration(params, "kill-after");
        return new ExecCommand(
                List.copyOf(command),
                shell,
                Map.copyOf(env),
                Boolean.TRUE.equals(HandlerParams.bool(params, "inherit-env")),
                dir == null || dir.isBlank() ? null : dir,
                killAfter == null ? DEFAULT_KILL_AFTER : killAfter);
    }

    /** Checks every placeholder; the shell's command line is left to the shell, which expands variables itself. */
    void checkPlaceholders(EnvPlaceholders placeholders) {
        if (!shell) {
            for (int i = 0; i < command.size(); i++) {
                placeholders.check("command[" + i + "]", command.get(i));
            }
        }
        env.forEach((name, value) -> placeholders.check("env." + name, value));
        placeholders.check("dir", dir);
    }

    /** The program and its arguments, placeholders replaced. */
    List<String> argv(EnvPlaceholders placeholders) {
        if (shell) {
            return List.of("/bin/sh", "-c", command.getFirst());
        }
        List<String> argv = new ArrayList<>();
        for (int i = 0; i < command.size(); i++) {
            argv.add(placeholders.resolve("command[" + i + "]", command.get(i)));
        }
        return argv;
    }

    /** How the command is named in errors: as written. */
    String describe() {
        return shell ? "sh -c '" + command.getFirst() + "'" : command.getFirst();
    }
}
