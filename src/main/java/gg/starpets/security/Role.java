package gg.starpets.security;

import java.util.List;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/** The two roles. An operator may do everything a viewer may: it holds both authorities. */
enum Role {
    VIEWER,
    OPERATOR;

    String authority() {
        return "ROLE_" + name();
    }

    List<GrantedAuthority> grants() {
        return this == OPERATOR
                ? List.of(
                        new SimpleGrantedAuthority(OPERATOR.authority()),
                        new SimpleGrantedAuthority(VIEWER.authority()))
                : List.of(new SimpleGrantedAuthority(VIEWER.authority()));
    }
}
