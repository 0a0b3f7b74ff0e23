package gg.starpets.handlers;

/**
 * A run that did its work and found it failed: a status outside the expected ones, a non-zero exit
 * code, a statement the database refused. The run ends FAILED with this message as its error.
 */
public final class RunFailedException extends Exception {

    public RunFailedException(String message) {
        super(message);
    }

    public RunFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The run's recorded error is this text: the message alone reads better than the class name. */
    @Override
    public String toString() {
        return getMessage();
    }
}
