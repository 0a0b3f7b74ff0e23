package gg.starpets.config;

import java.util.List;

/**
 * StarPets' schema as migrated at start-up (DatabaseConfig#starPetsMigrations): every StarPets pool is made
 * after it. An application may declare its own bean of this type to migrate otherwise (or not at all).
 *
 * @param schema the schema of StarPets' tables and migration history ({@code starpets.db.schema})
 * @param locations the Flyway locations migrated, StarPets' own first
 */
public record StarPetsMigrations(String schema, List<String> locations) {

    /** StarPets' own migrations (in starpets-scheduler) and the grants after them. */
    public static final List<String> LOCATIONS =
            List.of("classpath:db/starpets/migration", "classpath:db/starpets/callback");
}
