package gg.starpets.security;

import java.util.List;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/**
 * The three roles. An operator may do everything a viewer may: it holds both authorities. A balance
 * client is apart: it may use the balance API and nothing else, and neither task role reaches it.
 */
enum Role {
    VIEWER,
    OPERATOR,
    BALANCE;

    String authority() {
        return "ROLE_" + name();
    }

    List<GrantedAuthority> grants() {
        return switch (this) {
            case OPERATOR ->
                List.of(
                        new SimpleGrantedAuthority(OPERATOR.authority()),
                        new SimpleGrantedAuthority(VIEWER.authority()));
            case VIEWER, BALANCE -> List.of(new SimpleGrantedAuthority(authority()));
        };
    }
}
