#include "db/seed/seeder.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "db/pqxx/connect.h"
#include "db/pqxx/pqxx_status.h"

namespace tutoring::db {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

constexpr int64_t kMaxUsers = 100'000'000;
constexpr int64_t kMaxExercises = 10'000'000;

// ---------------------------------------------------------------------------
// SQL

constexpr absl::string_view kMissingTables = R"sql(
SELECT string_agg(name, ', ' ORDER BY name)
FROM unnest(ARRAY['users', 'exercises', 'user_exercises']) AS t(name)
WHERE to_regclass(name) IS NULL)sql";

constexpr absl::string_view kNoStatementTimeout =
    "SET LOCAL statement_timeout = 0";
// Followed by the timeout in milliseconds.
constexpr absl::string_view kSetLockTimeout = "SET LOCAL lock_timeout = ";

constexpr absl::string_view kTruncate =
    "TRUNCATE users, exercises, user_exercises RESTART IDENTITY CASCADE";

// The foreign keys of the seeded tables: (table, name, definition).
constexpr absl::string_view kSelectForeignKeys = R"sql(
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE conrelid IN ('users'::regclass, 'exercises'::regclass,
                   'user_exercises'::regclass)
  AND contype = 'f'
ORDER BY 1, 2)sql";

// The indexes of the seeded tables that CREATE INDEX with
// pg_get_indexdef's text re-creates exactly: (name, definition). Left out:
// indexes of constraints (primary key, unique, exclusion) and indexes a
// foreign key depends on, invalid ones (a failed CREATE INDEX CONCURRENTLY:
// rebuilding would change that), and those with a comment, a tablespace of
// their own, a CLUSTER or REPLICA IDENTITY mark or per-column statistics
// targets, which the definition does not carry.
constexpr absl::string_view kSelectPlainIndexes = R"sql(
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid IN ('users'::regclass, 'exercises'::regclass,
                     'user_exercises'::regclass)
  AND x.indisvalid AND x.indisready AND x.indislive
  AND NOT x.indisclustered AND NOT x.indisreplident
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
  AND i.reltablespace = 0
  AND obj_description(i.oid, 'pg_class') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = i.oid AND a.attstattarget >= 0)
ORDER BY i.relname)sql";

constexpr absl::string_view kAnalyze =
    "ANALYZE users, exercises, user_exercises";

// $1 table, $2 highest id given out (0: none).
constexpr absl::string_view kSetSequence =
    "SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST($2, 1), $2 > 0)";

constexpr absl::string_view kVacuum = "VACUUM users, exercises, user_exercises";

// ---------------------------------------------------------------------------
// Deterministic randomness. Only integer arithmetic: the same seed gives the
// same numbers with any compiler and standard library.

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15;

// SplitMix64's finalizer.
constexpr uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

// Independent streams per purpose, so that drawing one table differently
// never shifts the numbers of another.
enum class Stream : uint64_t { kUser = 1, kActivity = 2, kExercise = 3 };

// SplitMix64, seeded from (seed, stream, index).
class Rng {
 public:
  Rng(uint64_t seed, Stream stream, uint64_t index)
      : state_(Mix(Mix(seed + kGolden * static_cast<uint64_t>(stream)) ^
                   Mix(index))) {}

  uint64_t Next() {
    state_ += kGolden;
    return Mix(state_);
  }

  // Uniform in [0, n) for n > 0 (multiply-shift; bias below n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }

  // Uniform in [lo, hi], lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool Chance(int per_10000) {
    return Below(10000) < static_cast<uint64_t>(per_10000);
  }

  // An index into `weights`, with probability proportional to its weight.
  template <size_t N>
  int Pick(const std::array<int, N>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int r = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return static_cast<int>(i);
      r -= weights[i];
    }
    return static_cast<int>(N - 1);
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------
// The dataset's vocabulary and proportions (documented in seeder.h).

constexpr std::array<absl::string_view, 3> kRoles = {"student", "instructor",
                                                     "admin"};
constexpr std::array<int, 3> kRoleWeights = {9000, 800, 200};
constexpr int kActivePer10000 = 8500;
constexpr int kOnboardedPer10000 = 7000;

constexpr std::array<absl::string_view, 3> kDifficulties = {"easy", "medium",
                                                            "hard"};
constexpr std::array<int, 3> kDifficultyWeights = {40, 35, 25};

// Parallel to kSeedLanguages.
constexpr std::array<int, kSeedLanguageCount> kLanguageWeights = {
    18, 14, 10, 10, 6, 8, 7, 7, 6, 4, 5, 5};

enum Status { kPending, kInProgress, kCompleted, kSkipped };
constexpr std::array<absl::string_view, 4> kStatuses = {
    "pending", "in_progress", "completed", "skipped"};
// How the rows that are not completed split.
constexpr std::array<int, 3> kOpenStatusWeights = {30, 40, 30};
constexpr std::array<Status, 3> kOpenStatuses = {kPending, kInProgress,
                                                 kSkipped};

constexpr std::array<absl::string_view, 32> kFirstNames = {
    "Ada",   "Alan",  "Amara", "Ana",   "Arjun", "Bea",   "Carlos", "Chen",
    "Dana",  "Diego", "Elif",  "Emma",  "Farah", "Grace", "Hana",   "Ivan",
    "Jonas", "Kofi",  "Lena",  "Linus", "Maya",  "Mei",   "Nadia",  "Noah",
    "Olga",  "Omar",  "Priya", "Rosa",  "Sam",   "Sofia", "Tariq",  "Yuki"};
constexpr std::array<absl::string_view, 32> kLastNames = {
    "Abe",    "Bauer",   "Costa",  "Dubois", "Eriksen", "Fischer", "Garcia",
    "Haddad", "Ivanova", "Jensen", "Kim",    "Lopez",   "Mensah",  "Novak",
    "Okafor", "Patel",   "Quinn",  "Rossi",  "Sato",    "Schmidt", "Silva",
    "Singh",  "Tanaka",  "Torres", "Umar",   "Varga",   "Wang",    "Weber",
    "Xu",     "Yilmaz",  "Zhang",  "Zimmer"};

constexpr std::array<absl::string_view, 40> kTopics = {
    "Two sum",
    "Binary search",
    "Reverse a linked list",
    "FizzBuzz",
    "Palindrome check",
    "Rotate a matrix",
    "Word frequency",
    "Balanced brackets",
    "Merge intervals",
    "Prime sieve",
    "Roman numerals",
    "Group anagrams",
    "Run-length encoding",
    "Binary tree depth",
    "Breadth-first search",
    "Shortest paths",
    "LRU cache",
    "Rate limiter",
    "Tiny JSON parser",
    "String compression",
    "Sliding window maximum",
    "Top k elements",
    "Knapsack",
    "Coin change",
    "Edit distance",
    "Longest common subsequence",
    "Sudoku validator",
    "Caesar cipher",
    "Temperature converter",
    "Bank account class",
    "Tic-tac-toe",
    "Memoized Fibonacci",
    "Queue from two stacks",
    "Trie autocomplete",
    "Topological sort",
    "Union-find",
    "Event scheduler",
    "CSV summary",
    "Counting bits",
    "Days between dates"};

// How a user's activity looks. Rows per user average about 30 over all
// habits (see kHabitWeights); runs are consecutive active days, gaps the
// inactive days between runs.
struct Habit {
  int rows_min, rows_max;  // rows the user would make without the window
  int run_min, run_max;
  int gap_min, gap_max;
  // Days between the last active day and end_date: 0 with this chance, else
  // uniform in [idle_min, idle_max].
  int idle_zero_per_10000;
  int idle_min, idle_max;
  // Chance that a day's "anchor" row is completed (other rows of the day:
  // kExtraCompletedPer10000), so active days are mostly streak days.
  int anchor_completed_per_10000;
};

enum HabitKind { kDaily, kRegular, kSporadic, kLapsed };
constexpr std::array<Habit, 4> kHabits = {{
    // Daily learners: long runs of consecutive days, short gaps.
    {34, 76, 10, 45, 1, 4, 6000, 1, 10, 9300},
    // Regular: a few days on, a few off.
    {16, 48, 2, 7, 1, 6, 3000, 1, 14, 8600},
    // Sporadic: single days with longer gaps.
    {6, 30, 1, 2, 2, 14, 1000, 1, 30, 8000},
    // Lapsed: stopped weeks or months ago.
    {8, 40, 1, 6, 1, 8, 0, 20, 150, 7800},
}};
constexpr std::array<int, 4> kHabitWeights = {25, 40, 25, 10};
// Inactive users become lapsed learners with this chance.
constexpr int kInactiveLapsedPer10000 = 5000;
constexpr int kExtraCompletedPer10000 = 2300;

// Rows on one active day: 1..5.
constexpr std::array<int, 5> kRowsPerDayWeights = {55, 25, 12, 5, 3};

// Local hour of a row (outside the near-midnight share).
constexpr std::array<int, 24> kHourWeights = {4,  2,  1,  1,  1,  2,  4,  8,
                                              10, 10, 10, 10, 12, 10, 10, 10,
                                              10, 12, 14, 16, 18, 18, 14, 8};
// Night owls put this share of their rows into the last or first 30 minutes
// of their local day; everyone else a small share.
constexpr int kNightOwlPer10000 = 2000;
constexpr int kNightOwlMidnightPer10000 = 4000;
constexpr int kOtherMidnightPer10000 = 300;
// Of the near-midnight rows, this share is before midnight.
constexpr int kBeforeMidnightPer10000 = 6000;
constexpr int64_t kNearMidnight = 30 * kMicrosPerMinute;

// Which exercises a user picks: mostly from a primary or secondary language.
constexpr int kPrimaryLanguagePer100 = 70;
constexpr int kSecondaryLanguagePer100 = 15;

// Sign-up: this share before the activity window (up to a year), the rest
// inside it.
constexpr int kSignupBeforeWindowPer10000 = 6500;
constexpr int kSignupBeforeWindowMaxDays = 365;

// Exercises are created over [end - 400 days, end - 180 days).
constexpr int kExercisesFirstDay = -400;

// ---------------------------------------------------------------------------
// Calendar helpers.

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
// Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t UnixMicrosOfDay(absl::CivilDay day) {
  return DaysFromCivil(day.year(), day.month(), day.day()) * kMicrosPerDay;
}

// ---------------------------------------------------------------------------
// COPY text. Every value is written by the functions below; none contains a
// tab, newline or backslash, so nothing needs escaping.

void AppendInt(int64_t value, std::string* out) {
  char digits[24];
  char* end = digits + sizeof(digits);
  char* p = end;
  const bool negative = value < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(value)
                        : static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (negative) *--p = '-';
  out->append(p, static_cast<size_t>(end - p));
}

void AppendDigits(int64_t value, int width, char* p) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// "YYYY-MM-DD HH:MM:SS.ffffff+00" (years 1000..9999).
void AppendTimestamp(int64_t unix_micros, std::string* out) {
  const int64_t seconds = FloorDiv(unix_micros, kMicrosPerSecond);
  const int64_t micros = unix_micros - seconds * kMicrosPerSecond;
  const int64_t days = FloorDiv(seconds, 86400);
  const int64_t second_of_day = seconds - days * 86400;
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);
  char text[] = "0000-00-00 00:00:00.000000+00";
  AppendDigits(year, 4, text);
  AppendDigits(month, 2, text + 5);
  AppendDigits(day, 2, text + 8);
  AppendDigits(second_of_day / 3600, 2, text + 11);
  AppendDigits(second_of_day / 60 % 60, 2, text + 14);
  AppendDigits(second_of_day % 60, 2, text + 17);
  AppendDigits(micros, 6, text + 20);
  out->append(text, sizeof(text) - 1);
}

void AppendField(absl::string_view value, std::string* out) {
  out->append(value.data(), value.size());
}

// ---------------------------------------------------------------------------
// The fixed inputs of one run, computed before touching the database.

// Local midnights of one zone for the days around the activity window.
class ZoneDays {
 public:
  // First and last day (relative to end_date) with a known midnight.
  static constexpr int kFirst = -kSeedWindowDays - 2;
  static constexpr int kLast = 2;

  ZoneDays(const absl::TimeZone& zone, absl::CivilDay end_date) {
    for (int k = kFirst; k <= kLast; ++k) {
      const absl::TimeZone::TimeInfo info =
          zone.At(absl::CivilSecond(end_date + k));
      // A skipped midnight (a transition at 00:00) starts the day at the
      // transition.
      const absl::Time start = info.kind == absl::TimeZone::TimeInfo::SKIPPED
                                   ? info.trans
                                   : info.pre;
      midnights_.push_back(absl::ToUnixMicros(start));
    }
  }

  // UTC instant (unix microseconds) at which local day end_date + k begins;
  // kFirst <= k <= kLast.
  int64_t Midnight(int k) const { return midnights_[k - kFirst]; }

  // The local day (relative to end_date) holding `unix_micros`, or kFirst - 1
  // when it is before Midnight(kFirst).
  int DayOf(int64_t unix_micros) const {
    const auto it =
        std::upper_bound(midnights_.begin(), midnights_.end(), unix_micros);
    return static_cast<int>(it - midnights_.begin()) - 1 + kFirst;
  }

 private:
  std::vector<int64_t> midnights_;
};

struct Exercise {
  int difficulty;
  int language;
  int topic;
  int64_t created_at;
};

struct Plan {
  SeedOptions options;
  int64_t window_start = 0;  // unix micros, inclusive
  int64_t window_end = 0;    // unix micros, exclusive
  std::vector<ZoneDays> zones;
  std::vector<Exercise> exercises;                // [id - 1]
  std::vector<std::vector<int64_t>> by_language;  // exercise ids
};

absl::Status ValidateOptions(const SeedOptions& options) {
  if (options.users < 1 || options.users > kMaxUsers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "users must be in [1, ", kMaxUsers, "], got ", options.users));
  }
  if (options.exercises < 1 || options.exercises > kMaxExercises) {
    return absl::InvalidArgumentError(absl::StrCat("exercises must be in [1, ",
                                                   kMaxExercises, "], got ",
                                                   options.exercises));
  }
  if (options.end_date.year() < 1980 || options.end_date.year() > 9998) {
    return absl::InvalidArgumentError(
        absl::StrCat("end_date must be in years 1980 to 9998, got ",
                     absl::FormatCivilTime(options.end_date)));
  }
  if (options.lock_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lock_timeout must be >= 1ms, got ",
                     absl::FormatDuration(options.lock_timeout)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Plan> MakePlan(const SeedOptions& options) {
  Plan plan;
  plan.options = options;
  plan.window_start = UnixMicrosOfDay(options.end_date - kSeedWindowDays);
  plan.window_end = UnixMicrosOfDay(options.end_date + 1);
  for (absl::string_view name : kSeedTimeZones) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(std::string(name), &zone)) {
      return absl::FailedPreconditionError(
          absl::StrCat("time zone ", name,
                       " is not in the system's tzdata (install the "
                       "tzdata package)"));
    }
    plan.zones.emplace_back(zone, options.end_date);
  }

  const int64_t count = options.exercises;
  const int64_t first = UnixMicrosOfDay(options.end_date + kExercisesFirstDay);
  const int64_t span = (kExercisesFirstDay + kSeedWindowDays) * -kMicrosPerDay;
  plan.exercises.reserve(static_cast<size_t>(count));
  plan.by_language.resize(kSeedLanguageCount);
  for (int64_t id = 1; id <= count; ++id) {
    Rng rng(options.seed, Stream::kExercise, static_cast<uint64_t>(id));
    Exercise e;
    e.difficulty = rng.Pick(kDifficultyWeights);
    e.language = rng.Pick(kLanguageWeights);
    e.topic = static_cast<int>(rng.Below(kTopics.size()));
    // Evenly spread in id order, each somewhere in its own slot.
    const int64_t slot_start = first + span / count * (id - 1);
    e.created_at =
        slot_start + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                         std::max<int64_t>(span / count, 1))));
    plan.exercises.push_back(e);
    plan.by_language[static_cast<size_t>(e.language)].push_back(id);
  }
  return plan;
}

// ---------------------------------------------------------------------------
// Rows.

void AppendExerciseLine(int64_t id, const Exercise& e, std::string* out) {
  AppendInt(id, out);
  out->push_back('\t');
  AppendField(kTopics[static_cast<size_t>(e.topic)], out);
  out->append(" #");
  AppendInt(id, out);
  out->push_back('\t');
  AppendField(kDifficulties[static_cast<size_t>(e.difficulty)], out);
  out->push_back('\t');
  AppendField(kSeedLanguages[e.language], out);
  out->push_back('\t');
  AppendTimestamp(e.created_at, out);
  out->push_back('\n');
}

// One user's row; the activity generator uses id, active and signup.
struct User {
  int64_t id;
  int role;
  bool active;
  bool onboarded;
  size_t first_name;
  size_t last_name;
  int64_t signup;  // created_at, unix micros
};

User MakeUser(const Plan& plan, int64_t id) {
  Rng rng(plan.options.seed, Stream::kUser, static_cast<uint64_t>(id));
  User user;
  user.id = id;
  user.role = rng.Pick(kRoleWeights);
  user.active = rng.Chance(kActivePer10000);
  user.onboarded = rng.Chance(kOnboardedPer10000);
  user.first_name = rng.Below(kFirstNames.size());
  user.last_name = rng.Below(kLastNames.size());
  if (rng.Chance(kSignupBeforeWindowPer10000)) {
    user.signup = plan.window_start - 1 -
                  static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                      kSignupBeforeWindowMaxDays * kMicrosPerDay)));
  } else {
    // At least a day before the window ends, so there is room for activity.
    user.signup = plan.window_start +
                  static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                      (kSeedWindowDays - 1) * kMicrosPerDay)));
  }
  return user;
}

void AppendUserLine(const User& user, std::string* out) {
  AppendInt(user.id, out);
  out->append("\tuser");
  AppendInt(user.id, out);
  out->append("@example.test\t");
  AppendField(kFirstNames[user.first_name], out);
  out->push_back(' ');
  AppendField(kLastNames[user.last_name], out);
  out->push_back('\t');
  AppendField(kRoles[static_cast<size_t>(user.role)], out);
  out->append(user.active ? "\tt" : "\tf");
  out->append(user.onboarded ? "\tt\t" : "\tf\t");
  AppendTimestamp(user.signup, out);
  out->push_back('\n');
}

struct Activity {
  int64_t created_at;
  int64_t exercise_id;
  Status status;
};

// Reused between users to avoid allocations.
struct ActivityScratch {
  std::vector<std::pair<int, int>> days;  // (day relative to end_date, rows)
  std::vector<Activity> rows;
};

int64_t PickExercise(const Plan& plan, Rng& rng, int primary, int secondary) {
  const uint64_t r = rng.Below(100);
  int language = -1;
  if (r < kPrimaryLanguagePer100) {
    language = primary;
  } else if (r < kPrimaryLanguagePer100 + kSecondaryLanguagePer100) {
    language = secondary;
  }
  if (language >= 0) {
    const std::vector<int64_t>& ids =
        plan.by_language[static_cast<size_t>(language)];
    if (!ids.empty()) return ids[rng.Below(ids.size())];
  }
  return 1 + static_cast<int64_t>(
                 rng.Below(static_cast<uint64_t>(plan.options.exercises)));
}

// Fills scratch->rows with the user's activity, in created_at order.
void MakeActivity(const Plan& plan, const User& user,
                  ActivityScratch* scratch) {
  scratch->days.clear();
  scratch->rows.clear();
  Rng rng(plan.options.seed, Stream::kActivity, static_cast<uint64_t>(user.id));
  const ZoneDays& zone =
      plan.zones[static_cast<size_t>(user.id % kSeedTimeZoneCount)];

  int kind = rng.Pick(kHabitWeights);
  if (!user.active && rng.Chance(kInactiveLapsedPer10000)) kind = kLapsed;
  const Habit& habit = kHabits[static_cast<size_t>(kind)];
  int64_t rows_left = rng.Between(habit.rows_min, habit.rows_max);
  const int midnight_share = rng.Chance(kNightOwlPer10000)
                                 ? kNightOwlMidnightPer10000
                                 : kOtherMidnightPer10000;
  const int primary = rng.Pick(kLanguageWeights);
  const int secondary = rng.Pick(kLanguageWeights);

  // Active days are laid out backwards from the last one, so that daily
  // learners' runs reach end_date; they stop at the window's first day or at
  // the day after sign-up, whichever is later.
  const int first_day = std::max(-kSeedWindowDays, zone.DayOf(user.signup) + 1);
  int day =
      rng.Chance(habit.idle_zero_per_10000)
          ? 0
          : -static_cast<int>(rng.Between(habit.idle_min, habit.idle_max));
  while (rows_left > 0 && day >= first_day) {
    const int64_t run = rng.Between(habit.run_min, habit.run_max);
    for (int64_t i = 0; i < run && rows_left > 0 && day >= first_day; ++i) {
      const int64_t rows =
          std::min<int64_t>(rng.Pick(kRowsPerDayWeights) + 1, rows_left);
      scratch->days.emplace_back(day, static_cast<int>(rows));
      rows_left -= rows;
      --day;
    }
    day -= static_cast<int>(rng.Between(habit.gap_min, habit.gap_max));
  }

  for (auto it = scratch->days.rbegin(); it != scratch->days.rend(); ++it) {
    const int k = it->first;
    const int rows = it->second;
    const int64_t day_start = zone.Midnight(k);
    const int64_t day_end = zone.Midnight(k + 1);
    // The part of the local day inside the window.
    const int64_t lo = std::max(day_start, plan.window_start);
    const int64_t hi = std::min(day_end, plan.window_end);
    if (lo >= hi) continue;
    const size_t first_row = scratch->rows.size();
    for (int j = 0; j < rows; ++j) {
      int64_t from = lo;
      int64_t to = hi;
      if (rng.Chance(midnight_share)) {
        if (rng.Chance(kBeforeMidnightPer10000)) {
          from = std::max(lo, day_end - kNearMidnight);
        } else {
          to = std::min(hi, day_start + kNearMidnight);
        }
      } else {
        // Local clock hour, approximate on the days clocks change.
        const int64_t start =
            day_start + rng.Pick(kHourWeights) * kMicrosPerHour;
        if (start >= lo && start + kMicrosPerHour <= hi) {
          from = start;
          to = start + kMicrosPerHour;
        }
      }
      if (from >= to) {
        from = lo;
        to = hi;
      }
      const int64_t at =
          from +
          static_cast<int64_t>(rng.Below(static_cast<uint64_t>(to - from)));
      scratch->rows.push_back({at, 0, kPending});
    }
    std::sort(scratch->rows.begin() + static_cast<ptrdiff_t>(first_row),
              scratch->rows.end(), [](const Activity& a, const Activity& b) {
                return a.created_at < b.created_at;
              });
    const int64_t anchor = rng.Between(0, rows - 1);
    for (int j = 0; j < rows; ++j) {
      Activity& row = scratch->rows[first_row + static_cast<size_t>(j)];
      const bool completed =
          rng.Chance(j == anchor ? habit.anchor_completed_per_10000
                                 : kExtraCompletedPer10000);
      row.status = completed ? kCompleted
                             : kOpenStatuses[static_cast<size_t>(
                                   rng.Pick(kOpenStatusWeights))];
      row.exercise_id = PickExercise(plan, rng, primary, secondary);
    }
  }
}

void AppendActivityLine(int64_t id, int64_t user_id, const Activity& row,
                        std::string* out) {
  AppendInt(id, out);
  out->push_back('\t');
  AppendInt(user_id, out);
  out->push_back('\t');
  AppendInt(row.exercise_id, out);
  out->push_back('\t');
  AppendField(kStatuses[static_cast<size_t>(row.status)], out);
  out->push_back('\t');
  AppendTimestamp(row.created_at, out);
  out->push_back('\n');
}

// ---------------------------------------------------------------------------
// Loading.

// COPY text goes to the server in chunks of about this size.
constexpr size_t kChunkBytes = 1 << 20;

// pqxx::stream_to, the successor of tablewriter in libpqxx 6.4, only takes
// rows as tuples that it formats and escapes itself (its write_raw_line is
// private); tablewriter::write_raw_line sends our own COPY text as it is.
pqxx::tablewriter StartCopy(pqxx::work& tx, const std::string& table,
                            const std::vector<std::string>& columns) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return pqxx::tablewriter(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
}

// One COPY ... FROM STDIN, fed with preformatted text. Must be completed with
// Finish() before the transaction runs another statement.
class CopyIn {
 public:
  CopyIn(pqxx::work& tx, const std::string& table,
         const std::vector<std::string>& columns)
      : writer_(StartCopy(tx, table, columns)) {
    buffer_.reserve(kChunkBytes + 4096);
  }

  // Where to append whole lines (each ending in '\n').
  std::string* buffer() { return &buffer_; }

  // Sends the buffer once it holds a chunk.
  void MaybeSend() {
    if (buffer_.size() >= kChunkBytes) Send();
  }

  void Finish() {
    Send();
    writer_.complete();
  }

 private:
  void Send() {
    // write_raw_line sends the text and one final '\n' (it drops a trailing
    // one first), so a chunk of whole lines goes out unchanged.
    if (buffer_.empty()) return;
    writer_.write_raw_line(buffer_);
    buffer_.clear();
  }

  pqxx::tablewriter writer_;
  std::string buffer_;
};

void CopyExercises(pqxx::work& tx, const Plan& plan) {
  CopyIn copy(
      tx, "exercises",
      {"id", "title", "difficulty", "programming_language", "created_at"});
  for (size_t i = 0; i < plan.exercises.size(); ++i) {
    AppendExerciseLine(static_cast<int64_t>(i) + 1, plan.exercises[i],
                       copy.buffer());
    copy.MaybeSend();
  }
  copy.Finish();
}

void CopyUsers(pqxx::work& tx, const Plan& plan) {
  CopyIn copy(tx, "users",
              {"id", "email", "display_name", "role", "is_active",
               "onboarding_completed", "created_at"});
  for (int64_t id = 1; id <= plan.options.users; ++id) {
    AppendUserLine(MakeUser(plan, id), copy.buffer());
    copy.MaybeSend();
  }
  copy.Finish();
}

// Returns the number of rows.
int64_t CopyUserExercises(pqxx::work& tx, const Plan& plan) {
  CopyIn copy(tx, "user_exercises",
              {"id", "user_id", "exercise_id", "status", "created_at"});
  ActivityScratch scratch;
  int64_t next_id = 1;
  for (int64_t id = 1; id <= plan.options.users; ++id) {
    MakeActivity(plan, MakeUser(plan, id), &scratch);
    for (const Activity& row : scratch.rows) {
      AppendActivityLine(next_id++, id, row, copy.buffer());
    }
    copy.MaybeSend();
  }
  copy.Finish();
  return next_id - 1;
}

absl::Duration Since(std::chrono::steady_clock::time_point start) {
  return absl::FromChrono(std::chrono::steady_clock::now() - start);
}

absl::Status Load(pqxx::connection& connection, const Plan& plan,
                  SeedStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  const char* step = "checking the tables";
  try {
    {
      pqxx::nontransaction tx(connection);
      const pqxx::row missing = tx.exec1(std::string(kMissingTables));
      if (!missing[0].is_null()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database is not migrated (missing tables: ",
            missing[0].c_str(), "); run tutoring-migrate up first"));
      }
    }

    pqxx::work tx(connection);
    tx.exec0(std::string(kNoStatementTimeout));
    // PostgreSQL's limit; 0 would mean no timeout.
    constexpr int64_t kMaxLockTimeoutMs = 2147483647;
    tx.exec0(absl::StrCat(
        kSetLockTimeout,
        std::min(absl::ToInt64Milliseconds(plan.options.lock_timeout),
                 kMaxLockTimeoutMs)));
    step = "emptying the tables";
    tx.exec0(std::string(kTruncate));

    // Loading into bare tables, then building each index with one sort and
    // validating each foreign key with one join, is faster than maintaining
    // them row by row. Measured here: checking the foreign keys during the
    // COPY made it over four times slower (3M rows: 51 s instead of 11.5 s);
    // with the indexes kept, 1M users took 146 s instead of 104 s.
    step = "reading the foreign keys and indexes";
    std::vector<std::array<std::string, 3>> foreign_keys;
    for (const pqxx::row& row : tx.exec(std::string(kSelectForeignKeys))) {
      foreign_keys.push_back({row[0].as<std::string>(),
                              row[1].as<std::string>(),
                              row[2].as<std::string>()});
    }
    std::vector<std::pair<std::string, std::string>> indexes;
    for (const pqxx::row& row : tx.exec(std::string(kSelectPlainIndexes))) {
      indexes.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    }
    step = "dropping the foreign keys and indexes";
    for (const auto& [table, name, definition] : foreign_keys) {
      tx.exec0(absl::StrCat("ALTER TABLE ", table, " DROP CONSTRAINT ",
                            tx.quote_name(name)));
    }
    for (const auto& [name, definition] : indexes) {
      tx.exec0("DROP INDEX " + tx.quote_name(name));
    }

    step = "loading exercises";
    CopyExercises(tx, plan);
    step = "loading users";
    CopyUsers(tx, plan);
    step = "loading user_exercises";
    stats->user_exercises = CopyUserExercises(tx, plan);
    stats->users = plan.options.users;
    stats->exercises = plan.options.exercises;
    stats->load_time = Since(start);

    const auto finish_start = std::chrono::steady_clock::now();
    step = "re-creating the indexes";
    for (const auto& [name, definition] : indexes) tx.exec0(definition);
    stats->index_time = Since(finish_start);
    // Statistics first, so that the foreign keys' validation queries get
    // good plans.
    const auto analyze_start = std::chrono::steady_clock::now();
    step = "analyzing";
    tx.exec0(std::string(kAnalyze));
    step = "re-creating the foreign keys";
    for (const auto& [table, name, definition] : foreign_keys) {
      tx.exec0(absl::StrCat("ALTER TABLE ", table, " ADD CONSTRAINT ",
                            tx.quote_name(name), " ", definition));
    }
    step = "setting the identity sequences";
    const std::pair<const char*, int64_t> sequences[] = {
        {"users", stats->users},
        {"exercises", stats->exercises},
        {"user_exercises", stats->user_exercises}};
    for (const auto& [table, last_id] : sequences) {
      tx.exec_params1(std::string(kSetSequence), table, last_id);
    }
    step = "committing";
    tx.commit();
    stats->keys_time = Since(analyze_start);
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException(step);
  }
}

absl::Status Vacuum(pqxx::connection& connection, SeedStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  try {
    pqxx::nontransaction tx(connection);
    tx.exec0("SET statement_timeout = 0");
    tx.exec0(std::string(kVacuum));
  } catch (...) {
    return StatusFromCurrentException("vacuuming the seeded tables");
  }
  stats->vacuum_time = Since(start);
  return absl::OkStatus();
}

}  // namespace

absl::string_view SeedTimeZoneOfUser(int64_t user_id) {
  return kSeedTimeZones[user_id % kSeedTimeZoneCount];
}

absl::StatusOr<SeedStats> SeedDatabaseWithStats(const std::string& database_url,
                                                const SeedOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(ValidateOptions(options));
  ASSIGN_OR_RETURN(const Plan plan, MakePlan(options));
  ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> connection,
                   ConnectPqxx(database_url, absl::Seconds(10)));
  // libpqxx prints server notices (and errors it cannot throw, e.g. from a
  // destructor) to stderr; a library reports through its Status only.
  const pqxx::quiet_errorhandler quiet(*connection);
  SeedStats stats;
  RETURN_IF_ERROR(Load(*connection, plan, &stats));
  if (options.vacuum) RETURN_IF_ERROR(Vacuum(*connection, &stats));
  stats.total_time = Since(start);
  return stats;
}

absl::Status SeedDatabase(const std::string& database_url,
                          const SeedOptions& options) {
  return SeedDatabaseWithStats(database_url, options).status();
}

}  // namespace tutoring::db
