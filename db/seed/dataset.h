// The seeded dataset of users, exercises and user_exercises, as plain rows:
// what tutoring-seed loads, computed without a database.
//
// The dataset is a pure function of SeedDatasetOptions (users, seed,
// exercises, end_date): the same options give the same rows (ids included)
// on any machine with the same tzdata rules for the dates involved. Its
// shape:
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
//                   python most common). title "<topic> #<id>".
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
#ifndef TUTORING_DB_SEED_DATASET_H_
#define TUTORING_DB_SEED_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tutoring::db {

// A fixed default, so that the same users and seed give the same rows
// whenever the dataset is made.
inline constexpr absl::CivilDay kDefaultSeedEndDate(2026, 11, 1);

// Length of the activity window in days: created_at of user_exercises lies in
// [end_date - kSeedWindowDays, end_date + 1 day) UTC.
inline constexpr int kSeedWindowDays = 180;

// Bounds of SeedDatasetOptions.
inline constexpr int64_t kSeedMaxUsers = 100'000'000;
inline constexpr int64_t kSeedMaxExercises = 10'000'000;
inline constexpr int kSeedMinEndYear = 1980;
inline constexpr int kSeedMaxEndYear = 9998;

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

// What selects the dataset. Every field has a default.
struct SeedDatasetOptions {
  // Number of users, ids 1..users. 1 to kSeedMaxUsers.
  int64_t users = 10000;
  // Selects the dataset; any value.
  uint64_t seed = 1;
  // Number of exercises, ids 1..exercises. 1 to kSeedMaxExercises.
  int64_t exercises = 5000;
  // Last day of the activity window (UTC). Years kSeedMinEndYear to
  // kSeedMaxEndYear.
  absl::CivilDay end_date = kDefaultSeedEndDate;
};

// One row of each table, with the columns of the schema (migrations/).
// Enum-typed columns hold the PostgreSQL label; string_view members point
// to static storage.
struct SeedUser {
  int64_t id = 0;
  std::string email;
  std::string display_name;
  absl::string_view role;  // "student", "instructor" or "admin"
  bool is_active = false;
  bool onboarding_completed = false;
  absl::Time created_at;
};

struct SeedExercise {
  int64_t id = 0;
  std::string title;
  absl::string_view difficulty;            // "easy", "medium" or "hard"
  absl::string_view programming_language;  // one of kSeedLanguages
  absl::Time created_at;
};

struct SeedUserExercise {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t exercise_id = 0;
  // "pending", "in_progress", "completed" or "skipped"
  absl::string_view status;
  absl::Time created_at;
};

// The dataset of one SeedDatasetOptions, produced row by row on demand: a
// table of 100M users is never held in memory. Create draws the exercises
// up front (about 32 bytes each, 320 MB at kSeedMaxExercises), because
// every user's activity picks from them.
//
// The visitors below call `visit` once per row, in id order, on the calling
// thread; the row passed is valid only during the call (its storage is
// reused for the next row). An exception thrown by `visit` ends the visit
// and propagates. Rows are computed afresh on every visit: visiting twice
// gives the same rows.
//
// Thread-safe: immutable after Create, so any number of threads may visit at
// once.
class SeedDataset {
 public:
  // INVALID_ARGUMENT when a field of `options` is out of range (the message
  // names it); FAILED_PRECONDITION when the system's tzdata lacks a zone of
  // kSeedTimeZones.
  static absl::StatusOr<SeedDataset> Create(const SeedDatasetOptions& options);

  SeedDataset(SeedDataset&&) noexcept;
  SeedDataset& operator=(SeedDataset&&) noexcept;
  ~SeedDataset();

  const SeedDatasetOptions& options() const;

  // The activity window, [activity_start, activity_end): every
  // user_exercises created_at lies in it.
  absl::Time activity_start() const;
  absl::Time activity_end() const;

  void ForEachExercise(
      absl::FunctionRef<void(const SeedExercise&)> visit) const;
  void ForEachUser(absl::FunctionRef<void(const SeedUser&)> visit) const;
  // Returns the number of rows visited (the highest id).
  int64_t ForEachUserExercise(
      absl::FunctionRef<void(const SeedUserExercise&)> visit) const;

 private:
  struct Plan;

  explicit SeedDataset(std::unique_ptr<const Plan> plan);

  // Never null, except in a moved-from dataset.
  std::unique_ptr<const Plan> plan_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_SEED_DATASET_H_
