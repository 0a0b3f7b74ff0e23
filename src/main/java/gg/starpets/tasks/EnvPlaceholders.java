package gg.starpets.tasks;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${NAME}} in a parameter, replaced at run time by the environment variable NAME of the
 * process running the task: the task's definition (and so the database) keeps the placeholder, never
 * the secret. {@code $${NAME}} stands for the text {@code ${NAME}} itself. Any other {@code $} is text.
 */
final class EnvPlaceholders {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$(\\$?)\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private final Function<String, String> environment;

    /** {@code environment}: looks a variable up, null when it is not set ({@code System::getenv}). */
    EnvPlaceholders(Function<String, String> environment) {
        this.environment = environment;
    }

    /** The text with every placeholder replaced; fails naming the first variable that is not set. */
    String resolve(String param, String text) {
        if (text == null) {
            return null;
        }
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement;
            if (!m.group(1).isEmpty()) {
                replacement = "${" + m.group(2) + "}";
            } else {
                replacement = environment.apply(m.group(2));
                if (replacement == null) {
                    throw new IllegalArgumentException(notSet(param, m.group(2)));
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Fails when the text uses a variable that is not set here; for validating a task's params. */
    void check(String param, String text) {
        for (String name : variables(text)) {
            if (environment.apply(name) == null) {
                throw new IllegalArgumentException(notSet(param, name));
            }
        }
    }

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

    private static String notSet(String param, String name) {
        return "param '" + param + "' uses ${" + name + "}, but the environment variable " + name + " is not set";
    }
}
