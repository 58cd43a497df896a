#include "db/seed/dataset.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/seed/split_mix64.h"

namespace tutoring::db {
namespace {

// Times are unix microseconds while the dataset is computed: integer
// arithmetic keeps every draw exact, and rows turn them into absl::Time.
constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// The independent random streams (SplitMix64::ForStream), one per table.
// The numbers are part of the dataset: changing one changes the rows.
enum class Stream : uint64_t { kUser = 1, kActivity = 2, kExercise = 3 };

SplitMix64 RngFor(uint64_t seed, Stream stream, int64_t index) {
  return SplitMix64::ForStream(seed, static_cast<uint64_t>(stream),
                               static_cast<uint64_t>(index));
}

// ---------------------------------------------------------------------------
// The dataset's vocabulary and proportions (documented in dataset.h).

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

// The UTC midnight that starts `day`, in unix microseconds.
int64_t UnixMicrosOfDay(absl::CivilDay day) {
  return absl::ToUnixMicros(absl::FromCivil(day, absl::UTCTimeZone()));
}

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

// An exercise as drawn; the row's text is made when it is visited.
struct Exercise {
  int difficulty;
  int language;
  int topic;
  int64_t created_at;
};

// A user as drawn; the activity generator uses id, active and signup.
struct User {
  int64_t id;
  int role;
  bool active;
  bool onboarded;
  size_t first_name;
  size_t last_name;
  int64_t signup;  // created_at, unix micros
};

// One user_exercises row as drawn.
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

absl::Status ValidateOptions(const SeedDatasetOptions& options) {
  if (options.users < 1 || options.users > kSeedMaxUsers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "users must be in [1, ", kSeedMaxUsers, "], got ", options.users));
  }
  if (options.exercises < 1 || options.exercises > kSeedMaxExercises) {
    return absl::InvalidArgumentError(absl::StrCat("exercises must be in [1, ",
                                                   kSeedMaxExercises, "], got ",
                                                   options.exercises));
  }
  if (options.end_date.year() < kSeedMinEndYear ||
      options.end_date.year() > kSeedMaxEndYear) {
    return absl::InvalidArgumentError(absl::StrCat(
        "end_date must be in years ", kSeedMinEndYear, " to ", kSeedMaxEndYear,
        ", got ", absl::FormatCivilTime(options.end_date)));
  }
  return absl::OkStatus();
}

}  // namespace

// The fixed inputs of the dataset, computed once by Create.
struct SeedDataset::Plan {
  SeedDatasetOptions options;
  int64_t window_start = 0;                       // unix micros, inclusive
  int64_t window_end = 0;                         // unix micros, exclusive
  std::vector<ZoneDays> zones;                    // [user id % zone count]
  std::vector<Exercise> exercises;                // [id - 1]
  std::vector<std::vector<int64_t>> by_language;  // exercise ids

  User MakeUser(int64_t id) const;
  int64_t PickExercise(SplitMix64& rng, int primary, int secondary) const;
  // Fills scratch->rows with the user's activity, in created_at order.
  void MakeActivity(const User& user, ActivityScratch* scratch) const;
};

User SeedDataset::Plan::MakeUser(int64_t id) const {
  SplitMix64 rng = RngFor(options.seed, Stream::kUser, id);
  User user;
  user.id = id;
  user.role = rng.Pick(kRoleWeights);
  user.active = rng.Chance(kActivePer10000);
  user.onboarded = rng.Chance(kOnboardedPer10000);
  user.first_name = rng.Below(kFirstNames.size());
  user.last_name = rng.Below(kLastNames.size());
  if (rng.Chance(kSignupBeforeWindowPer10000)) {
    user.signup = window_start - 1 -
                  static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                      kSignupBeforeWindowMaxDays * kMicrosPerDay)));
  } else {
    // At least a day before the window ends, so there is room for activity.
    user.signup =
        window_start + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                           (kSeedWindowDays - 1) * kMicrosPerDay)));
  }
  return user;
}

int64_t SeedDataset::Plan::PickExercise(SplitMix64& rng, int primary,
                                        int secondary) const {
  const uint64_t r = rng.Below(100);
  int language = -1;
  if (r < kPrimaryLanguagePer100) {
    language = primary;
  } else if (r < kPrimaryLanguagePer100 + kSecondaryLanguagePer100) {
    language = secondary;
  }
  if (language >= 0) {
    const std::vector<int64_t>& ids =
        by_language[static_cast<size_t>(language)];
    if (!ids.empty()) return ids[rng.Below(ids.size())];
  }
  return 1 + static_cast<int64_t>(
                 rng.Below(static_cast<uint64_t>(options.exercises)));
}

void SeedDataset::Plan::MakeActivity(const User& user,
                                     ActivityScratch* scratch) const {
  scratch->days.clear();
  scratch->rows.clear();
  SplitMix64 rng = RngFor(options.seed, Stream::kActivity, user.id);
  const ZoneDays& zone =
      zones[static_cast<size_t>(user.id % kSeedTimeZoneCount)];

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
    const int64_t lo = std::max(day_start, window_start);
    const int64_t hi = std::min(day_end, window_end);
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
      row.exercise_id = PickExercise(rng, primary, secondary);
    }
  }
}

absl::string_view SeedTimeZoneOfUser(int64_t user_id) {
  return kSeedTimeZones[user_id % kSeedTimeZoneCount];
}

absl::StatusOr<SeedDataset> SeedDataset::Create(
    const SeedDatasetOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  auto plan = std::make_unique<Plan>();
  plan->options = options;
  plan->window_start = UnixMicrosOfDay(options.end_date - kSeedWindowDays);
  plan->window_end = UnixMicrosOfDay(options.end_date + 1);
  for (absl::string_view name : kSeedTimeZones) {
    absl::TimeZone zone;
    if (!absl::LoadTimeZone(std::string(name), &zone)) {
      return absl::FailedPreconditionError(
          absl::StrCat("time zone ", name,
                       " is not in the system's tzdata (install the "
                       "tzdata package)"));
    }
    plan->zones.emplace_back(zone, options.end_date);
  }

  const int64_t count = options.exercises;
  const int64_t first = UnixMicrosOfDay(options.end_date + kExercisesFirstDay);
  const int64_t span = (kExercisesFirstDay + kSeedWindowDays) * -kMicrosPerDay;
  plan->exercises.reserve(static_cast<size_t>(count));
  plan->by_language.resize(kSeedLanguageCount);
  for (int64_t id = 1; id <= count; ++id) {
    SplitMix64 rng = RngFor(options.seed, Stream::kExercise, id);
    Exercise e;
    e.difficulty = rng.Pick(kDifficultyWeights);
    e.language = rng.Pick(kLanguageWeights);
    e.topic = static_cast<int>(rng.Below(kTopics.size()));
    // Evenly spread in id order, each somewhere in its own slot.
    const int64_t slot_start = first + span / count * (id - 1);
    e.created_at =
        slot_start + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(
                         std::max<int64_t>(span / count, 1))));
    plan->exercises.push_back(e);
    plan->by_language[static_cast<size_t>(e.language)].push_back(id);
  }
  return SeedDataset(std::move(plan));
}

SeedDataset::SeedDataset(std::unique_ptr<const Plan> plan)
    : plan_(std::move(plan)) {}
SeedDataset::SeedDataset(SeedDataset&&) noexcept = default;
SeedDataset& SeedDataset::operator=(SeedDataset&&) noexcept = default;
SeedDataset::~SeedDataset() = default;

const SeedDatasetOptions& SeedDataset::options() const {
  return plan_->options;
}

absl::Time SeedDataset::activity_start() const {
  return absl::FromUnixMicros(plan_->window_start);
}

absl::Time SeedDataset::activity_end() const {
  return absl::FromUnixMicros(plan_->window_end);
}

void SeedDataset::ForEachExercise(
    absl::FunctionRef<void(const SeedExercise&)> visit) const {
  SeedExercise row;
  for (size_t i = 0; i < plan_->exercises.size(); ++i) {
    const Exercise& e = plan_->exercises[i];
    row.id = static_cast<int64_t>(i) + 1;
    row.title.clear();
    absl::StrAppend(&row.title, kTopics[static_cast<size_t>(e.topic)], " #",
                    row.id);
    row.difficulty = kDifficulties[static_cast<size_t>(e.difficulty)];
    row.programming_language = kSeedLanguages[e.language];
    row.created_at = absl::FromUnixMicros(e.created_at);
    visit(row);
  }
}

void SeedDataset::ForEachUser(
    absl::FunctionRef<void(const SeedUser&)> visit) const {
  SeedUser row;
  for (int64_t id = 1; id <= plan_->options.users; ++id) {
    const User user = plan_->MakeUser(id);
    row.id = id;
    row.email.clear();
    absl::StrAppend(&row.email, "user", id, "@example.test");
    row.display_name.clear();
    absl::StrAppend(&row.display_name, kFirstNames[user.first_name], " ",
                    kLastNames[user.last_name]);
    row.role = kRoles[static_cast<size_t>(user.role)];
    row.is_active = user.active;
    row.onboarding_completed = user.onboarded;
    row.created_at = absl::FromUnixMicros(user.signup);
    visit(row);
  }
}

int64_t SeedDataset::ForEachUserExercise(
    absl::FunctionRef<void(const SeedUserExercise&)> visit) const {
  ActivityScratch scratch;
  SeedUserExercise row;
  int64_t last_id = 0;
  for (int64_t user_id = 1; user_id <= plan_->options.users; ++user_id) {
    plan_->MakeActivity(plan_->MakeUser(user_id), &scratch);
    for (const Activity& activity : scratch.rows) {
      row.id = ++last_id;
      row.user_id = user_id;
      row.exercise_id = activity.exercise_id;
      row.status = kStatuses[static_cast<size_t>(activity.status)];
      row.created_at = absl::FromUnixMicros(activity.created_at);
      visit(row);
    }
  }
  return last_id;
}

}  // namespace tutoring::db
