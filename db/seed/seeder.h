// The bulk seeder behind tutoring-seed: replaces the contents of users,
// exercises and user_exercises with a deterministic, realistic dataset.
//
// The dataset is a pure function of (users, seed, exercises, end_date): the
// same options give byte-identical table contents (ids included) on any
// machine with the same tzdata rules for the dates involved. Its shape:
//
//   users           ids 1..users. Role student 90%, instructor 8%, admin 2%;
//                   is_active 85%; onboarding_completed 70% (each drawn per
//                   user). email "user<id>@example.test", display_name
//                   "<First> <Last>". created_at is the sign-up instant:
//                   strictly before the user's first activity.
//   exercises       ids 1..exercises, created_at increasing with id over
//                   [end_date - 400 days, end_date - 180 days) UTC, so before
//                   any activity. Difficulty easy 40%, medium 35%, hard 25%;
//                   programming_language one of kSeedLanguages (weighted,
//                   python most common).
//   user_exercises  about 30 rows per user, created_at in the activity
//                   window [end_date - 180 days, end_date + 1 day) UTC, in
//                   streaky patterns: daily learners with long runs of
//                   consecutive days, regular, sporadic and lapsed learners,
//                   gaps, up to 5 rows on one day, and a share of rows in the
//                   first or last 30 minutes of the local day of the user's
//                   zone, SeedTimeZoneOfUser(user_id). Days are local days of
//                   that zone. About 60% of rows are 'completed', the rest
//                   'pending', 'in_progress' or 'skipped'. Ids run user by
//                   user and, within a user, in created_at order.
// Timestamps have microsecond precision.
#ifndef TUTORING_DB_SEED_SEEDER_H_
#define TUTORING_DB_SEED_SEEDER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tutoring::db {

// A fixed default, so that the same users and seed give the same bytes
// whenever the seeder runs.
inline constexpr absl::CivilDay kDefaultSeedEndDate(2026, 11, 1);

// Length of the activity window in days: created_at of user_exercises lies in
// [end_date - kSeedWindowDays, end_date + 1 day) UTC.
inline constexpr int kSeedWindowDays = 180;

// The zones users live in. User `id` lives in
// kSeedTimeZones[id % kSeedTimeZoneCount].
inline constexpr int kSeedTimeZoneCount = 7;
inline constexpr absl::string_view kSeedTimeZones[kSeedTimeZoneCount] = {
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "America/Los_Angeles",
    "Australia/Sydney",
};

// The programming_language values of seeded exercises.
inline constexpr int kSeedLanguageCount = 12;
inline constexpr absl::string_view kSeedLanguages[kSeedLanguageCount] = {
    "python", "javascript", "typescript", "java", "c",      "cpp",
    "csharp", "go",         "rust",       "ruby", "kotlin", "swift",
};

// The zone whose local days shape the activity of user `user_id` (>= 1).
absl::string_view SeedTimeZoneOfUser(int64_t user_id);

struct SeedOptions {
  // Number of users, ids 1..users. 1 to 100,000,000.
  int64_t users = 10000;
  // Selects the dataset; any value.
  uint64_t seed = 1;
  // Number of exercises, ids 1..exercises. 1 to 10,000,000.
  int64_t exercises = 5000;
  // Last day of the activity window (UTC). Years 1980 to 9998.
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
  // TRUNCATE, generating and COPYing the rows.
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
// indexes the definition text cannot fully restore (see seeder.cc), and the
// indexes of primary key and unique constraints, stay in place. Other
// sessions wait on the table locks until the commit and then see the new
// contents.
//
// Errors: INVALID_ARGUMENT for options out of range or a malformed URL;
// UNAVAILABLE when the server cannot be reached or the connection breaks;
// FAILED_PRECONDITION when the tables are missing (database not migrated) or
// the system's tzdata lacks a zone of kSeedTimeZones; other codes as
// StatusFromException maps the server's error (e.g. INTERNAL for a lock
// timeout, SQLSTATE 55P03). On error nothing has changed, except that a
// failed VACUUM leaves the new data committed. Thread-safe; concurrent calls
// on one database are serialized by the table locks.
absl::StatusOr<SeedStats> SeedDatabaseWithStats(const std::string& database_url,
                                                const SeedOptions& options);

// SeedDatabaseWithStats without the statistics.
absl::Status SeedDatabase(const std::string& database_url,
                          const SeedOptions& options);

}  // namespace tutoring::db

#endif  // TUTORING_DB_SEED_SEEDER_H_
