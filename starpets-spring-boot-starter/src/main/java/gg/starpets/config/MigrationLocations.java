package gg.starpets.config;

import java.util.List;

/**
 * Flyway locations an application migrates together with StarPets' own, into StarPets' schema and its one
 * history (the service's balance tables: {@code classpath:db/migration}). A bean of this type is enough.
 */
public record MigrationLocations(List<String> locations) {}
