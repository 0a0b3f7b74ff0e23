/**
 * The balance feature (A1–A5): {@code POST /balance/update} and {@code GET /balance/{userId}}.
 *
 * <p>A change is one conditional {@code UPDATE} in PostgreSQL ({@link gg.starpets.balance.UserRepository}):
 * nothing is read and written back in Java, nothing is queued, nothing is locked in the process. The
 * table's check constraint refuses a negative balance even to a statement that forgot the condition.
 */
package gg.starpets.balance;
