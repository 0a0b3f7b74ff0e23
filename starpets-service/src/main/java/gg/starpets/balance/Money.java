package gg.starpets.balance;

import java.math.BigDecimal;

/** The limits of money in this feature: exact decimals with two places, as in {@code numeric(20,2)}. */
final class Money {

    /** Places after the decimal point, everywhere: requests, the database, responses. */
    static final int SCALE = 2;

    /** The largest change one request may make, either way. */
    static final BigDecimal MAX_AMOUNT = new BigDecimal("1000000000.00");

    /** The largest balance {@code numeric(20,2)} holds; a top-up beyond it is refused, not overflowed. */
    static final BigDecimal MAX_BALANCE = new BigDecimal("999999999999999999.99");

    private Money() {}
}
