// SeedDataset (db/seed/dataset.h) without a database: determinism, the
// shares documented in dataset.h, ids, and timestamps checked against
// absl::TimeZone's own local midnights.
#include "db/seed/dataset.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "db/seed/copy_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::Ge;
using ::testing::Le;
using ::testing::UnorderedElementsAre;

SeedDataset Make(const SeedDatasetOptions& options) {
  absl::StatusOr<SeedDataset> dataset = SeedDataset::Create(options);
  EXPECT_TRUE(dataset.ok()) << dataset.status();
  if (!dataset.ok()) std::abort();
  return *std::move(dataset);
}

SeedDatasetOptions Options(int64_t users, uint64_t seed = 1) {
  SeedDatasetOptions options;
  options.users = users;
  options.seed = seed;
  return options;
}

absl::Time UtcMidnight(absl::CivilDay day) {
  return absl::FromCivil(day, absl::UTCTimeZone());
}

absl::TimeZone Zone(absl::string_view name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(std::string(name), &zone)) << name;
  return zone;
}

// The instant local day `day` of `zone` begins (a skipped midnight: the
// transition).
absl::Time LocalMidnight(const absl::TimeZone& zone, absl::CivilDay day) {
  const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(day));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

// Distance from `t` to the nearest local midnight of `zone`.
absl::Duration FromLocalMidnight(const absl::TimeZone& zone, absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, zone);
  return std::min(t - LocalMidnight(zone, day),
                  LocalMidnight(zone, day + 1) - t);
}

// The three tables as COPY text, as the loader sends them.
struct Tables {
  std::string exercises;
  std::string users;
  std::string user_exercises;
};

Tables CopyText(const SeedDataset& dataset) {
  Tables tables;
  CopyTextWriter writer;
  dataset.ForEachExercise([&](const SeedExercise& e) {
    writer.AddInt(e.id);
    writer.AddText(e.title);
    writer.AddText(e.difficulty);
    writer.AddText(e.programming_language);
    writer.AddTimestamp(e.created_at);
    writer.EndRow();
  });
  tables.exercises = writer.text();
  writer.Clear();
  dataset.ForEachUser([&](const SeedUser& u) {
    writer.AddInt(u.id);
    writer.AddText(u.email);
    writer.AddText(u.display_name);
    writer.AddText(u.role);
    writer.AddBool(u.is_active);
    writer.AddBool(u.onboarding_completed);
    writer.AddTimestamp(u.created_at);
    writer.EndRow();
  });
  tables.users = writer.text();
  writer.Clear();
  dataset.ForEachUserExercise([&](const SeedUserExercise& r) {
    writer.AddInt(r.id);
    writer.AddInt(r.user_id);
    writer.AddInt(r.exercise_id);
    writer.AddText(r.status);
    writer.AddTimestamp(r.created_at);
    writer.EndRow();
  });
  tables.user_exercises = writer.text();
  return tables;
}

// 64-bit FNV-1a.
uint64_t Fingerprint(absl::string_view text) {
  uint64_t hash = 0xcbf29ce484222325;
  for (const char c : text) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3;
  }
  return hash;
}

std::vector<SeedUser> Users(const SeedDataset& dataset) {
  std::vector<SeedUser> users;
  dataset.ForEachUser([&](const SeedUser& user) { users.push_back(user); });
  return users;
}

std::vector<SeedExercise> Exercises(const SeedDataset& dataset) {
  std::vector<SeedExercise> exercises;
  dataset.ForEachExercise(
      [&](const SeedExercise& exercise) { exercises.push_back(exercise); });
  return exercises;
}

std::vector<SeedUserExercise> UserExercises(const SeedDataset& dataset) {
  std::vector<SeedUserExercise> rows;
  dataset.ForEachUserExercise(
      [&](const SeedUserExercise& row) { rows.push_back(row); });
  return rows;
}

// Share of `rows` for which `condition` holds.
template <typename Row, typename Condition>
double Share(const std::vector<Row>& rows, Condition condition) {
  if (rows.empty()) return -1;
  const auto count = std::count_if(rows.begin(), rows.end(), condition);
  return static_cast<double>(count) / static_cast<double>(rows.size());
}

// A sample of 14,000 users (2,000 per zone), made once for the tests that
// only read it.
class SeedDatasetSample : public ::testing::Test {
 protected:
  static constexpr int64_t kUsers = 14000;

  static void SetUpTestSuite() {
    const SeedDataset dataset = Make(Options(kUsers));
    users_ = new std::vector<SeedUser>(Users(dataset));
    exercises_ = new std::vector<SeedExercise>(Exercises(dataset));
    user_exercises_ = new std::vector<SeedUserExercise>(UserExercises(dataset));
  }

  static void TearDownTestSuite() {
    delete users_;
    delete exercises_;
    delete user_exercises_;
  }

  static std::vector<SeedUser>* users_;
  static std::vector<SeedExercise>* exercises_;
  static std::vector<SeedUserExercise>* user_exercises_;
};

std::vector<SeedUser>* SeedDatasetSample::users_ = nullptr;
std::vector<SeedExercise>* SeedDatasetSample::exercises_ = nullptr;
std::vector<SeedUserExercise>* SeedDatasetSample::user_exercises_ = nullptr;

TEST(SeedDataset, SameOptionsGiveTheSameRows) {
  const Tables first = CopyText(Make(Options(500, 7)));
  const Tables second = CopyText(Make(Options(500, 7)));
  EXPECT_EQ(first.exercises, second.exercises);
  EXPECT_EQ(first.users, second.users);
  EXPECT_EQ(first.user_exercises, second.user_exercises);
}

TEST(SeedDataset, VisitingAgainGivesTheSameRows) {
  const SeedDataset dataset = Make(Options(300, 7));
  const Tables first = CopyText(dataset);
  const Tables second = CopyText(dataset);
  EXPECT_EQ(first.users, second.users);
  EXPECT_EQ(first.user_exercises, second.user_exercises);
}

TEST(SeedDataset, AnotherSeedGivesOtherRows) {
  const Tables first = CopyText(Make(Options(500, 7)));
  const Tables other = CopyText(Make(Options(500, 8)));
  EXPECT_NE(first.exercises, other.exercises);
  EXPECT_NE(first.users, other.users);
  EXPECT_NE(first.user_exercises, other.user_exercises);
}

// The README promises that the same options give the same bytes across
// versions. These fingerprints are of COPY text written by the seeder before
// the dataset had its own files (commit 2970f13); a change that moves them
// changes every seeded database.
TEST(SeedDataset, RowsAreTheBytesEarlierVersionsLoaded) {
  SeedDatasetOptions small = Options(300, 1);
  small.exercises = 50;
  const Tables a = CopyText(Make(small));
  EXPECT_THAT(a.users, ::testing::StartsWith(
                           "1\tuser1@example.test\tNadia Lopez\tstudent\tt\t"
                           "t\t2025-11-21 23:15:02.108001+00\n"));
  EXPECT_THAT(a.user_exercises,
              ::testing::StartsWith(
                  "1\t1\t9\tcompleted\t2026-10-07 04:18:02.492025+00\n"));
  EXPECT_EQ(Fingerprint(a.exercises), 0x9ee0f77ee34258f4u);
  EXPECT_EQ(Fingerprint(a.users), 0xf13d851741ea191au);
  EXPECT_EQ(Fingerprint(a.user_exercises), 0xc6f23b1be6bd81beu);
  EXPECT_EQ(a.user_exercises.size(), 465562u);

  SeedDatasetOptions other = Options(250, 42);
  other.end_date = absl::CivilDay(2024, 3, 10);
  const Tables b = CopyText(Make(other));
  EXPECT_EQ(Fingerprint(b.exercises), 0x47c4298452a03d73u);
  EXPECT_EQ(Fingerprint(b.users), 0x1fcc211398098e0u);
  EXPECT_EQ(Fingerprint(b.user_exercises), 0xcfd47096b028e977u);
}

TEST(SeedDataset, RejectsOptionsOutOfRange) {
  const auto code = [](auto change) {
    SeedDatasetOptions options;
    change(options);
    return SeedDataset::Create(options).status().code();
  };
  const auto invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code([](auto& o) { o.users = 0; }), invalid);
  EXPECT_EQ(code([](auto& o) { o.users = kSeedMaxUsers + 1; }), invalid);
  EXPECT_EQ(code([](auto& o) { o.exercises = 0; }), invalid);
  EXPECT_EQ(code([](auto& o) { o.exercises = kSeedMaxExercises + 1; }),
            invalid);
  EXPECT_EQ(code([](auto& o) { o.end_date = absl::CivilDay(1979, 12, 31); }),
            invalid);
  EXPECT_EQ(code([](auto& o) { o.end_date = absl::CivilDay(9999, 1, 1); }),
            invalid);
}

TEST(SeedDataset, AcceptsTheBoundsOfEachOption) {
  for (const absl::CivilDay end_date :
       {absl::CivilDay(kSeedMinEndYear, 1, 1),
        absl::CivilDay(kSeedMaxEndYear, 12, 31)}) {
    SeedDatasetOptions options = Options(1, ~uint64_t{0});
    options.exercises = 1;
    options.end_date = end_date;
    const absl::StatusOr<SeedDataset> dataset = SeedDataset::Create(options);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    EXPECT_EQ(Users(*dataset).size(), 1u);
    EXPECT_EQ(Exercises(*dataset).size(), 1u);
    for (const SeedUserExercise& row : UserExercises(*dataset)) {
      EXPECT_EQ(row.exercise_id, 1);
      EXPECT_GE(row.created_at, dataset->activity_start());
      EXPECT_LT(row.created_at, dataset->activity_end());
    }
  }
}

TEST_F(SeedDatasetSample, IdsRunFromOneWithoutGaps) {
  ASSERT_EQ(users_->size(), static_cast<size_t>(kUsers));
  for (size_t i = 0; i < users_->size(); ++i) {
    ASSERT_EQ((*users_)[i].id, static_cast<int64_t>(i) + 1);
  }
  ASSERT_EQ(exercises_->size(), 5000u);
  for (size_t i = 0; i < exercises_->size(); ++i) {
    ASSERT_EQ((*exercises_)[i].id, static_cast<int64_t>(i) + 1);
  }
  for (size_t i = 0; i < user_exercises_->size(); ++i) {
    ASSERT_EQ((*user_exercises_)[i].id, static_cast<int64_t>(i) + 1);
  }
  const SeedDataset dataset = Make(Options(kUsers));
  EXPECT_EQ(dataset.ForEachUserExercise([](const SeedUserExercise&) {}),
            static_cast<int64_t>(user_exercises_->size()));
}

TEST_F(SeedDatasetSample, UserExercisesRunUserByUserInCreatedAtOrder) {
  for (size_t i = 1; i < user_exercises_->size(); ++i) {
    const SeedUserExercise& previous = (*user_exercises_)[i - 1];
    const SeedUserExercise& row = (*user_exercises_)[i];
    ASSERT_LE(previous.user_id, row.user_id) << "id " << row.id;
    if (previous.user_id == row.user_id) {
      ASSERT_LE(previous.created_at, row.created_at) << "id " << row.id;
    }
  }
  for (const SeedUserExercise& row : *user_exercises_) {
    ASSERT_GE(row.user_id, 1);
    ASSERT_LE(row.user_id, kUsers);
    ASSERT_GE(row.exercise_id, 1);
    ASSERT_LE(row.exercise_id, 5000);
  }
}

TEST_F(SeedDatasetSample, UserSharesStayWithinBounds) {
  EXPECT_THAT(
      Share(*users_, [](const SeedUser& u) { return u.role == "student"; }),
      DoubleNear(0.90, 0.015));
  EXPECT_THAT(
      Share(*users_, [](const SeedUser& u) { return u.role == "instructor"; }),
      DoubleNear(0.08, 0.01));
  EXPECT_THAT(
      Share(*users_, [](const SeedUser& u) { return u.role == "admin"; }),
      DoubleNear(0.02, 0.005));
  EXPECT_THAT(Share(*users_, [](const SeedUser& u) { return u.is_active; }),
              DoubleNear(0.85, 0.015));
  EXPECT_THAT(
      Share(*users_, [](const SeedUser& u) { return u.onboarding_completed; }),
      DoubleNear(0.70, 0.02));
}

TEST_F(SeedDatasetSample, UsersHaveTheirEmailAndATwoPartName) {
  for (const SeedUser& user : *users_) {
    ASSERT_EQ(user.email, absl::StrCat("user", user.id, "@example.test"));
    const size_t space = user.display_name.find(' ');
    ASSERT_NE(space, std::string::npos) << user.display_name;
    ASSERT_GT(space, 0u) << user.display_name;
    ASSERT_LT(space + 1, user.display_name.size()) << user.display_name;
    ASSERT_EQ(user.display_name.find(' ', space + 1), std::string::npos);
  }
}

TEST_F(SeedDatasetSample, ExerciseSharesStayWithinBounds) {
  const auto difficulty = [](absl::string_view value) {
    return [value](const SeedExercise& e) { return e.difficulty == value; };
  };
  EXPECT_THAT(Share(*exercises_, difficulty("easy")), DoubleNear(0.40, 0.03));
  EXPECT_THAT(Share(*exercises_, difficulty("medium")), DoubleNear(0.35, 0.03));
  EXPECT_THAT(Share(*exercises_, difficulty("hard")), DoubleNear(0.25, 0.03));

  // Weights in percent, parallel to kSeedLanguages (as the README lists).
  const int percent[kSeedLanguageCount] = {18, 14, 10, 10, 6, 8,
                                           7,  7,  6,  4,  5, 5};
  for (int i = 0; i < kSeedLanguageCount; ++i) {
    const absl::string_view language = kSeedLanguages[i];
    EXPECT_THAT(Share(*exercises_,
                      [language](const SeedExercise& e) {
                        return e.programming_language == language;
                      }),
                DoubleNear(percent[i] / 100.0, 0.02))
        << language;
  }
}

TEST_F(SeedDatasetSample, ExerciseTitlesAreUniqueAndEndWithTheirId) {
  std::set<std::string> titles;
  for (const SeedExercise& exercise : *exercises_) {
    ASSERT_TRUE(absl::EndsWith(exercise.title, absl::StrCat(" #", exercise.id)))
        << exercise.title;
    titles.insert(exercise.title);
  }
  EXPECT_EQ(titles.size(), exercises_->size());
}

TEST_F(SeedDatasetSample, ExercisesAreCreatedInIdOrderBeforeAnyActivity) {
  const absl::CivilDay end = kDefaultSeedEndDate;
  for (size_t i = 0; i < exercises_->size(); ++i) {
    const absl::Time created_at = (*exercises_)[i].created_at;
    ASSERT_GE(created_at, UtcMidnight(end - 400));
    ASSERT_LT(created_at, UtcMidnight(end - kSeedWindowDays));
    if (i > 0) {
      ASSERT_LT((*exercises_)[i - 1].created_at, created_at);
    }
  }
}

TEST_F(SeedDatasetSample, ActivityLiesInsideTheWindowAndReachesBothEnds) {
  const absl::Time start = UtcMidnight(kDefaultSeedEndDate - kSeedWindowDays);
  const absl::Time end = UtcMidnight(kDefaultSeedEndDate + 1);
  const SeedDataset dataset = Make(Options(1));
  EXPECT_EQ(dataset.activity_start(), start);
  EXPECT_EQ(dataset.activity_end(), end);

  absl::Time first = absl::InfiniteFuture();
  absl::Time last = absl::InfinitePast();
  for (const SeedUserExercise& row : *user_exercises_) {
    ASSERT_GE(row.created_at, start) << "id " << row.id;
    ASSERT_LT(row.created_at, end) << "id " << row.id;
    ASSERT_EQ(row.created_at,
              absl::FromUnixMicros(absl::ToUnixMicros(row.created_at)))
        << "id " << row.id << ": finer than a microsecond";
    first = std::min(first, row.created_at);
    last = std::max(last, row.created_at);
  }
  EXPECT_LT(first, start + absl::Hours(24));
  EXPECT_GE(last, end - absl::Hours(24));
}

TEST_F(SeedDatasetSample, UsersSignUpBeforeTheirFirstActivity) {
  std::map<int64_t, absl::Time> first_activity;
  for (const SeedUserExercise& row : *user_exercises_) {
    first_activity.emplace(row.user_id, row.created_at);  // keeps the first
  }
  for (const auto& [user_id, first] : first_activity) {
    ASSERT_LT((*users_)[static_cast<size_t>(user_id - 1)].created_at, first)
        << "user " << user_id;
  }
}

TEST_F(SeedDatasetSample, RowsPerUserAndStatusesStayWithinBounds) {
  EXPECT_THAT(static_cast<double>(user_exercises_->size()) / kUsers,
              AllOf(Ge(25.0), Le(35.0)));
  EXPECT_THAT(Share(*user_exercises_,
                    [](const SeedUserExercise& row) {
                      return row.status == "completed";
                    }),
              DoubleNear(0.60, 0.05));
  std::map<std::string, int> statuses;
  for (const SeedUserExercise& row : *user_exercises_) {
    ++statuses[std::string(row.status)];
  }
  for (const auto& [status, count] : statuses) {
    EXPECT_GE(count, 1000) << status;
  }
  std::vector<std::string> names;
  for (const auto& [status, count] : statuses) names.push_back(status);
  EXPECT_THAT(names, UnorderedElementsAre("pending", "in_progress", "completed",
                                          "skipped"));
}

TEST_F(SeedDatasetSample, AShareOfRowsLandsNearLocalMidnightInEveryZone) {
  // Per zone: rows within 30 minutes of a local midnight of the user's own
  // zone. Rows placed by the hour alone would put about 2.6% there.
  std::map<int, std::pair<int, int>> near_and_all;  // zone index -> counts
  std::vector<absl::TimeZone> zones;
  for (const absl::string_view name : kSeedTimeZones) {
    zones.push_back(Zone(name));
  }
  for (const SeedUserExercise& row : *user_exercises_) {
    const int zone = static_cast<int>(row.user_id % kSeedTimeZoneCount);
    ASSERT_EQ(kSeedTimeZones[zone], SeedTimeZoneOfUser(row.user_id));
    auto& [near, all] = near_and_all[zone];
    ++all;
    if (FromLocalMidnight(zones[static_cast<size_t>(zone)], row.created_at) <=
        absl::Minutes(30)) {
      ++near;
    }
  }
  ASSERT_EQ(near_and_all.size(), static_cast<size_t>(kSeedTimeZoneCount));
  for (const auto& [zone, counts] : near_and_all) {
    EXPECT_THAT(static_cast<double>(counts.first) / counts.second,
                AllOf(Ge(0.06), Le(0.20)))
        << kSeedTimeZones[zone];
  }
}

// On the days clocks change, rows near midnight follow the zone's real
// midnights, the ones absl::TimeZone gives, rather than instants an hour off
// (24 hours after the previous midnight, or at the usual UTC offset): within
// 30 minutes of them lie about twice as many rows as 30 to 90 minutes away.
TEST(SeedDataset, RowsNearMidnightFollowLocalMidnightAcrossDstChanges) {
  // Windows that end a few days after the spring changes of the north and
  // the autumn change of the south, and after the opposite ones, so the
  // change days fall where activity is dense.
  for (const absl::CivilDay end_date :
       {absl::CivilDay(2026, 4, 8), absl::CivilDay(2026, 11, 4)}) {
    SCOPED_TRACE(absl::FormatCivilTime(end_date));
    SeedDatasetOptions options = Options(14000, 3);
    options.end_date = end_date;
    const SeedDataset dataset = Make(options);

    // The local days of each zone on which its clocks change.
    std::vector<std::set<absl::CivilDay>> change_days(kSeedTimeZoneCount);
    std::vector<absl::TimeZone> zones;
    for (int i = 0; i < kSeedTimeZoneCount; ++i) {
      zones.push_back(Zone(kSeedTimeZones[i]));
      absl::TimeZone::CivilTransition transition;
      for (absl::Time t = dataset.activity_start();
           zones[i].NextTransition(t, &transition);) {
        // The instant of the change (FromCivil would pick the earlier of
        // the two instants of a repeated civil time).
        t = zones[i].At(transition.to).trans;
        if (t >= dataset.activity_end()) break;
        change_days[i].insert(absl::CivilDay(transition.to));
      }
    }
    for (const absl::string_view name :
         {"America/New_York", "Europe/Berlin", "America/Los_Angeles",
          "Australia/Sydney"}) {
      const auto* const it =
          std::find(std::begin(kSeedTimeZones), std::end(kSeedTimeZones), name);
      ASSERT_FALSE(change_days[it - std::begin(kSeedTimeZones)].empty())
          << name;
    }

    // Rows within 30 minutes of the two midnights that bound a change day,
    // and 30 to 90 minutes from them.
    int near = 0;
    int hour_off = 0;
    dataset.ForEachUserExercise([&](const SeedUserExercise& row) {
      const int i = static_cast<int>(row.user_id % kSeedTimeZoneCount);
      for (const absl::CivilDay day : change_days[i]) {
        for (const absl::Time midnight :
             {LocalMidnight(zones[i], day), LocalMidnight(zones[i], day + 1)}) {
          const absl::Duration distance =
              absl::AbsDuration(row.created_at - midnight);
          if (distance <= absl::Minutes(30)) ++near;
          if (absl::AbsDuration(distance - absl::Hours(1)) <=
              absl::Minutes(30)) {
            ++hour_off;
          }
        }
      }
    });
    EXPECT_GE(near, 500);
    EXPECT_GE(2 * near, 3 * hour_off)
        << near << " near, " << hour_off << " an hour off";
  }
}

}  // namespace
}  // namespace tutoring::db
