package gg.starpets.handlers;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${NAME}} in a parameter, replaced at run time by the environment variable NAME of the
 * process running the task, if it is a task secret ({@link TaskSecrets}): the task's definition (and
 * so the database) keeps the placeholder, never the secret. {@code $${NAME}} stands for the text
 * {@code ${NAME}} itself. Any other {@code $} is text.
 */
final class EnvPlaceholders {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$(\\$?)\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private final TaskSecrets secrets;
    private final boolean destinationChecked;

    /**
     * @param destinationChecked the handler checks every host a secret is sent to: only then may it use
     *     a secret bound to hosts
     */
    EnvPlaceholders(TaskSecrets secrets, boolean destinationChecked) {
        this.secrets = secrets;
        this.destinationChecked = destinationChecked;
    }

    TaskSecrets secrets() {
        return secrets;
    }

    /** The text with every placeholder replaced; fails naming the first variable that may not be read. */
    String resolve(String param, String text) {
        if (text == null) {
            return null;
        }
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = m.group(1).isEmpty()
                    ? secrets.value(param, m.group(2), destinationChecked)
                    : "${" + m.group(2) + "}";
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Fails when the text uses a variable that may not be read here; for validating a task's params. */
    void check(String param, String text) {
        for (String name : variables(text)) {
            secrets.value(param, name, destinationChecked);
        }
    }

    /** The variables the text uses (not those written {@code $${NAME}}). */
    static Set<String> variables(String text) {
        Set<String> names = new LinkedHashSet<>();
        if (text != null) {
            Matcher m = PLACEHOLDER.matcher(text);
            while (m.find()) {
                if (m.group(1).isEmpty()) {
                    names.add(m.group(2));
                }
            }
        }
        return names;
    }
}
