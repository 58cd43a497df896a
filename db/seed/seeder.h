// The bulk seeder behind tutoring-seed: replaces the contents of users,
// exercises and user_exercises with the deterministic dataset of
// db/seed/dataset.h (whose constants, kSeed* and SeedTimeZoneOfUser, come
// with this header). The same options give byte-identical table contents.
#ifndef TUTORING_DB_SEED_SEEDER_H_
#define TUTORING_DB_SEED_SEEDER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/seed/dataset.h"

namespace tutoring::db {

// What to load and how. The first four fields select the dataset, as the
// fields of SeedDatasetOptions with the same names and ranges do.
struct SeedOptions {
  // Number of users, ids 1..users. 1 to kSeedMaxUsers (100,000,000).
  int64_t users = 10000;
  // Selects the dataset; any value.
  uint64_t seed = 1;
  // Number of exercises, ids 1..exercises. 1 to kSeedMaxExercises
  // (10,000,000).
  int64_t exercises = 5000;
  // Last day of the activity window (UTC). Years kSeedMinEndYear (1980) to
  // kSeedMaxEndYear (9998).
  absl::CivilDay end_date = kDefaultSeedEndDate;
  // Run VACUUM on the three tables after loading, so their visibility maps
  // are all-visible and index-only scans skip the heap from the start.
  bool vacuum = true;
  // How long to wait for the table locks (another session using the tables
  // blocks TRUNCATE); at least 1ms, capped at PostgreSQL's maximum (about
  // 24.8 days).
  absl::Duration lock_timeout = absl::Seconds(60);
};

// What SeedDatabaseWithStats did, and how long each phase took.
struct SeedStats {
  int64_t users = 0;
  int64_t exercises = 0;
  int64_t user_exercises = 0;
  // Checking the tables, TRUNCATE, dropping the foreign keys and indexes,
  // generating and COPYing the rows.
  absl::Duration load_time;
  // Re-creating the indexes.
  absl::Duration index_time;
  // ANALYZE, re-creating the foreign keys, COMMIT.
  absl::Duration keys_time;
  // VACUUM (zero when SeedOptions::vacuum is false).
  absl::Duration vacuum_time;
  absl::Duration total_time;
};

// Replaces the contents of users, exercises and user_exercises in the
// database at `database_url` (which must be migrated) with the dataset that
// `options` selects, in one transaction: TRUNCATE ... RESTART IDENTITY
// CASCADE (so tables referencing these are emptied too), COPY of every row
// with explicit ids, identity sequences set past the highest id (later
// inserts get fresh ids), ANALYZE; then VACUUM if options.vacuum. For speed,
// the foreign keys of the three tables and their secondary indexes are
// dropped before the COPY and re-created from their catalog definitions
// (same names and definitions, foreign keys validated) before the commit;
// indexes the definition text cannot fully restore (see kSelectPlainIndexes
// in seeder.cc), and the indexes of primary key and unique constraints, stay
// in place. Other sessions wait on the table locks until the commit and then
// see the new contents. `clock` times the phases for SeedStats.
//
// Errors: INVALID_ARGUMENT for options out of range or a malformed URL;
// UNAVAILABLE when the server cannot be reached or the connection breaks;
// FAILED_PRECONDITION when the tables are missing (database not migrated) or
// the system's tzdata lacks a zone of kSeedTimeZones; other codes as
// StatusFromCurrentException (db/pqxx/pqxx_status.h) maps the server's error
// (e.g. INTERNAL for a lock timeout, SQLSTATE 55P03). On error nothing has
// changed, except that a failed VACUUM leaves the new data committed.
// Thread-safe; concurrent calls on one database are serialized by the table
// locks.
absl::StatusOr<SeedStats> SeedDatabaseWithStats(const std::string& database_url,
                                                const SeedOptions& options,
                                                const Clock& clock);

// SeedDatabaseWithStats without the statistics.
absl::Status SeedDatabase(const std::string& database_url,
                          const SeedOptions& options);

}  // namespace tutoring::db

#endif  // TUTORING_DB_SEED_SEEDER_H_
