// The bulk seeder (db/seed/seeder.h) and its binary tutoring-seed, against
// real databases of the test cluster. Distribution checks compute the ground
// truth with SQL (PostgreSQL's own time zone conversion for local midnights).
#include "db/seed/seeder.h"

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/db/catalog.h"
#include "tests/db/migration_files.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;
using ::tutoring::testing::BinaryPath;
using ::tutoring::testing::CreateMigratedDatabase;
using ::tutoring::testing::DumpSchema;
using ::tutoring::testing::ProcessResult;
using ::tutoring::testing::RunProcess;
using ::tutoring::testing::TempDir;
using ::tutoring::testing::TestDatabase;

constexpr int64_t kUsers = 3000;
constexpr uint64_t kSeed = 7;
constexpr char kSeededTables[][16] = {"users", "exercises", "user_exercises"};

// The one value of a one-row, one-column query.
std::string QueryValue(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    const pqxx::row row = tx.exec1(sql);
    return row[0].is_null() ? "NULL" : row[0].as<std::string>();
  } catch (const std::exception& e) {
    ADD_FAILURE() << sql << ": " << e.what();
    return "";
  }
}

double QueryDouble(const std::string& url, const std::string& sql) {
  const std::string value = QueryValue(url, sql);
  return value.empty() || value == "NULL" ? -1 : std::stod(value);
}

int64_t QueryInt(const std::string& url, const std::string& sql) {
  const std::string value = QueryValue(url, sql);
  return value.empty() || value == "NULL" ? -1 : std::stoll(value);
}

// md5 over every row of `table` in id order: equal iff the contents are.
std::string TableChecksum(const std::string& url, absl::string_view table) {
  return QueryValue(url, absl::StrCat("SELECT md5(string_agg(t::text, ',' "
                                      "ORDER BY id)) FROM ",
                                      table, " t"));
}

std::vector<std::string> Checksums(const std::string& url) {
  std::vector<std::string> sums;
  for (const char* table : kSeededTables) {
    sums.push_back(TableChecksum(url, table));
  }
  return sums;
}

SeedOptions Options(uint64_t seed = kSeed) {
  SeedOptions options;
  options.users = kUsers;
  options.seed = seed;
  return options;
}

// "VALUES (0, 'UTC'), (1, 'America/New_York'), ...": user id % 7 -> zone.
std::string ZoneValues() {
  std::vector<std::string> rows;
  for (int i = 0; i < kSeedTimeZoneCount; ++i) {
    rows.push_back(absl::StrCat("(", i, ", '", kSeedTimeZones[i], "')"));
  }
  return absl::StrCat("VALUES ", absl::StrJoin(rows, ", "));
}

// Lengths of runs of consecutive UTC days with a completed row, per user.
constexpr char kCompletedRuns[] = R"sql(
WITH days AS (
  SELECT DISTINCT user_id, (created_at AT TIME ZONE 'UTC')::date AS day
  FROM user_exercises WHERE status = 'completed'),
grouped AS (
  SELECT user_id,
         day - (row_number() OVER (PARTITION BY user_id ORDER BY day))::int AS g
  FROM days),
runs AS (SELECT user_id, count(*) AS length FROM grouped GROUP BY user_id, g)
)sql";

// Runs tutoring-seed with `args`, DATABASE_URL removed from the environment
// and `env` ("NAME=value") added; waits for it.
ProcessResult RunSeedBinary(const std::vector<std::string>& args,
                            const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {BinaryPath("TUTORING_SEED_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env, {"DATABASE_URL"});
}

// A normal exit with `code` and exactly one line on stderr, prefixed with the
// program name, and nothing from an uncaught exception.
void ExpectOneLineFailure(const ProcessResult& result, int code) {
  EXPECT_TRUE(result.exited) << "killed by a signal; stderr: " << result.err;
  EXPECT_EQ(result.exit_code, code) << result.err;
  EXPECT_THAT(result.err, StartsWith("tutoring-seed: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  EXPECT_THAT(result.err, Not(HasSubstr("terminate called")));
  EXPECT_THAT(result.err, Not(HasSubstr("Aborted")));
  EXPECT_EQ(result.out, "");
}

// Three databases seeded once for the suite: `first_` and `same_` with the
// same options (the second through the binary, in another process), `other_`
// with another seed. Tests only read them.
class SeederTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    first_ = Migrated("seed_first").release();
    same_ = Migrated("seed_same").release();
    other_ = Migrated("seed_other").release();
    if (first_ == nullptr || same_ == nullptr || other_ == nullptr) return;
    const absl::Status seeded = SeedDatabase(first_->url(), Options());
    ASSERT_TRUE(seeded.ok()) << seeded;
    const ProcessResult run = RunSeedBinary(
        {"--users", std::to_string(kUsers), "--seed", std::to_string(kSeed)},
        {"DATABASE_URL=" + same_->url()});
    summary_ = new std::string(run.out);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ASSERT_TRUE(SeedDatabase(other_->url(), Options(kSeed + 1)).ok());
  }

  static void TearDownTestSuite() {
    delete first_;
    delete same_;
    delete other_;
    delete summary_;
  }

  static std::unique_ptr<TestDatabase> Migrated(absl::string_view prefix) {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        CreateMigratedDatabase(prefix);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  void SetUp() override {
    ASSERT_NE(first_, nullptr);
    ASSERT_NE(same_, nullptr);
    ASSERT_NE(other_, nullptr);
    ASSERT_NE(summary_, nullptr);
  }

  const std::string& url() const { return first_->url(); }

  static TestDatabase* first_;
  static TestDatabase* same_;
  static TestDatabase* other_;
  static std::string* summary_;  // stdout of the binary's run
};

TestDatabase* SeederTest::first_ = nullptr;
TestDatabase* SeederTest::same_ = nullptr;
TestDatabase* SeederTest::other_ = nullptr;
std::string* SeederTest::summary_ = nullptr;

TEST_F(SeederTest, SameOptionsGiveIdenticalTablesAcrossProcesses) {
  const std::vector<std::string> first = Checksums(url());
  EXPECT_EQ(first, Checksums(same_->url()));
  for (const std::string& sum : first) EXPECT_EQ(sum.size(), 32u) << sum;
}

TEST_F(SeederTest, AnotherSeedGivesOtherTables) {
  const std::vector<std::string> first = Checksums(url());
  const std::vector<std::string> other = Checksums(other_->url());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_NE(first[i], other[i]) << kSeededTables[i];
  }
}

TEST_F(SeederTest, BinaryPrintsOneSummaryLineWithTheRowCounts) {
  const int64_t rows = QueryInt(url(), "SELECT count(*) FROM user_exercises");
  EXPECT_THAT(*summary_,
              StartsWith(absl::StrCat("seeded ", kUsers,
                                      " users, 5000 "
                                      "exercises, ",
                                      rows, " user_exercises (seed ", kSeed,
                                      ", end date 2026-11-01) in ")));
  EXPECT_EQ(std::count(summary_->begin(), summary_->end(), '\n'), 1);
}

TEST_F(SeederTest, IdsRunFromOneWithoutGaps) {
  for (const char* table : kSeededTables) {
    EXPECT_EQ(QueryValue(url(), absl::StrCat("SELECT min(id) = 1 AND max(id) "
                                             "= count(*) FROM ",
                                             table)),
              "t")
        << table;
  }
  EXPECT_EQ(QueryInt(url(), "SELECT count(*) FROM users"), kUsers);
  EXPECT_EQ(QueryInt(url(), "SELECT count(*) FROM exercises"), 5000);
}

TEST_F(SeederTest, UserSharesStayWithinBounds) {
  const int64_t mismatched_emails = QueryInt(
      url(),
      "SELECT count(*) FROM users WHERE email <> 'user' || id || "
      "'@example.test' OR display_name !~ '^[A-Z][a-z]+ [A-Z][a-z]+$'");
  EXPECT_EQ(mismatched_emails, 0);
  auto share = [&](const std::string& condition) {
    return QueryDouble(url(), absl::StrCat("SELECT avg((", condition,
                                           ")::int)::float8 FROM users"));
  };
  EXPECT_THAT(share("role = 'student'"), DoubleNear(0.90, 0.025));
  EXPECT_THAT(share("role = 'instructor'"), DoubleNear(0.08, 0.02));
  EXPECT_THAT(share("role = 'admin'"), DoubleNear(0.02, 0.01));
  EXPECT_THAT(share("is_active"), DoubleNear(0.85, 0.025));
  EXPECT_THAT(share("onboarding_completed"), DoubleNear(0.70, 0.03));
}

TEST_F(SeederTest, ExercisesCoverThreeDifficultiesAndTwelveLanguages) {
  auto share = [&](const std::string& condition) {
    return QueryDouble(url(), absl::StrCat("SELECT avg((", condition,
                                           ")::int)::float8 FROM exercises"));
  };
  EXPECT_THAT(share("difficulty = 'easy'"), DoubleNear(0.40, 0.03));
  EXPECT_THAT(share("difficulty = 'medium'"), DoubleNear(0.35, 0.03));
  EXPECT_THAT(share("difficulty = 'hard'"), DoubleNear(0.25, 0.03));

  std::vector<std::string> expected;
  for (absl::string_view language : kSeedLanguages) {
    expected.emplace_back(language);
  }
  EXPECT_THAT(tutoring::testing::QueryRows(
                  url(),
                  "SELECT programming_language FROM exercises GROUP BY 1 "
                  "HAVING count(*) >= 100"),
              UnorderedElementsAreArray(expected));
  EXPECT_EQ(QueryInt(url(), "SELECT count(DISTINCT title) FROM exercises"),
            5000);
}

TEST_F(SeederTest, ActivityVolumeAndStatusesStayWithinBounds) {
  EXPECT_THAT(QueryDouble(url(),
                          "SELECT (SELECT count(*) FROM user_exercises)::float8"
                          " / (SELECT count(*) FROM users)"),
              AllOf(Ge(25.0), Le(35.0)));
  EXPECT_THAT(QueryDouble(url(),
                          "SELECT avg((status = 'completed')::int)::float8 "
                          "FROM user_exercises"),
              DoubleNear(0.60, 0.05));
  EXPECT_THAT(tutoring::testing::QueryRows(
                  url(),
                  "SELECT status FROM user_exercises GROUP BY 1 "
                  "HAVING count(*) >= 1000 ORDER BY 1"),
              ElementsAre("pending", "in_progress", "completed", "skipped"));
}

TEST_F(SeederTest, TimestampsLieInTheirWindows) {
  // Activity in [2026-11-01 - 180 days, 2026-11-02) UTC, both ends reached.
  EXPECT_EQ(QueryValue(url(),
                       "SELECT min(created_at) >= '2026-05-05 00:00:00+00' "
                       "AND max(created_at) < '2026-11-02 00:00:00+00' "
                       "AND min(created_at) < '2026-05-06 00:00:00+00' "
                       "AND max(created_at) >= '2026-11-01 00:00:00+00' "
                       "FROM user_exercises"),
            "t");
  // Exercises before any activity.
  EXPECT_EQ(QueryValue(url(),
                       "SELECT max(created_at) < '2026-05-05 00:00:00+00' "
                       "FROM exercises"),
            "t");
  // Every user signed up before their first activity.
  EXPECT_EQ(QueryInt(url(),
                     "SELECT count(*) FROM users u JOIN (SELECT user_id, "
                     "min(created_at) AS first FROM user_exercises GROUP BY "
                     "user_id) a ON a.user_id = u.id "
                     "WHERE u.created_at >= a.first"),
            0);
}

TEST_F(SeederTest, ActivityIsStreaky) {
  // Some long daily runs of completions ...
  EXPECT_GE(QueryInt(url(), absl::StrCat(kCompletedRuns,
                                         "SELECT count(DISTINCT user_id) "
                                         "FROM runs WHERE length >= 14")),
            kUsers / 50);
  // ... and gaps of a week or more, at least one per two users.
  EXPECT_GE(QueryInt(url(),
                     "SELECT count(*) FROM (SELECT user_id, created_at - "
                     "lag(created_at) OVER (PARTITION BY user_id ORDER BY "
                     "created_at) AS gap FROM user_exercises) g "
                     "WHERE gap >= interval '7 days'"),
            kUsers / 2);
  // Several completions on one day.
  EXPECT_GE(QueryInt(url(),
                     "SELECT count(DISTINCT user_id) FROM (SELECT user_id "
                     "FROM user_exercises WHERE status = 'completed' "
                     "GROUP BY user_id, (created_at AT TIME ZONE 'UTC')::date "
                     "HAVING count(*) >= 3) d"),
            kUsers / 20);
  // Streaks that are still going on end_date.
  EXPECT_GE(QueryInt(url(),
                     "SELECT count(DISTINCT user_id) FROM user_exercises "
                     "WHERE status = 'completed' "
                     "AND created_at >= '2026-11-01 00:00:00+00'"),
            kUsers / 10);
}

TEST_F(SeederTest, SomeCompletionsFallNearLocalMidnight) {
  const std::string near_midnight = absl::StrCat(
      "WITH zones(i, name) AS (", ZoneValues(),
      "), local AS (SELECT e.status, (e.created_at AT TIME ZONE z.name)::time "
      "AS t FROM user_exercises e JOIN zones z ON z.i = e.user_id % ",
      kSeedTimeZoneCount,
      ") SELECT avg((t < '00:30' OR t >= '23:30')::int)::float8 FROM local "
      "WHERE status = 'completed'");
  EXPECT_THAT(QueryDouble(url(), near_midnight), AllOf(Ge(0.06), Le(0.20)));
}

TEST_F(SeederTest, SchemaIsUnchanged) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> fresh =
      CreateMigratedDatabase("seed_fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(DumpSchema(url()), DumpSchema((*fresh)->url()));
}

TEST_F(SeederTest, TablesAreAllVisibleAfterVacuum) {
  for (const char* table : kSeededTables) {
    EXPECT_EQ(QueryValue(url(), absl::StrCat("SELECT relallvisible = relpages "
                                             "AND relpages > 0 FROM pg_class "
                                             "WHERE oid = '",
                                             table, "'::regclass")),
              "t")
        << table;
  }
}

TEST(SeedTimeZoneOfUser, CyclesThroughTheZoneList) {
  EXPECT_EQ(SeedTimeZoneOfUser(7), "UTC");
  EXPECT_EQ(SeedTimeZoneOfUser(1), "America/New_York");
  EXPECT_EQ(SeedTimeZoneOfUser(4), "Pacific/Kiritimati");
  EXPECT_EQ(SeedTimeZoneOfUser(13), "Australia/Sydney");
}

TEST(Seeder, ReseedingReplacesEverythingAndRestartsIds) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("seed_again");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string& url = (*db)->url();
  SeedOptions small = Options();
  small.users = 200;
  ASSERT_TRUE(SeedDatabase(url, small).ok());
  const std::vector<std::string> expected = Checksums(url);

  // Extra rows, then a bigger dataset, then the small one again.
  QueryValue(url,
             "WITH u AS (INSERT INTO users (email, display_name) VALUES "
             "('extra@example.test', 'Extra') RETURNING id) "
             "INSERT INTO user_exercises (user_id, exercise_id) "
             "SELECT id, 1 FROM u RETURNING id");
  SeedOptions big = small;
  big.users = 400;
  ASSERT_TRUE(SeedDatabase(url, big).ok());
  ASSERT_TRUE(SeedDatabase(url, small).ok());
  EXPECT_EQ(Checksums(url), expected);
}

TEST(Seeder, LaterInsertsGetFreshIds) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("seed_sequences");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string& url = (*db)->url();
  SeedOptions options = Options();
  options.users = 100;
  options.exercises = 50;
  ASSERT_TRUE(SeedDatabase(url, options).ok());
  const int64_t rows = QueryInt(url, "SELECT count(*) FROM user_exercises");
  EXPECT_EQ(QueryInt(url,
                     "INSERT INTO users (email, display_name) VALUES "
                     "('new@example.test', 'New') RETURNING id"),
            101);
  EXPECT_EQ(QueryInt(url,
                     "INSERT INTO exercises (title, difficulty, "
                     "programming_language) VALUES ('New', 'easy', 'go') "
                     "RETURNING id"),
            51);
  EXPECT_EQ(QueryInt(url,
                     "INSERT INTO user_exercises (user_id, exercise_id) "
                     "VALUES (101, 51) RETURNING id"),
            rows + 1);
}

TEST(Seeder, EndDateMovesTheActivityWindow) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("seed_end_date");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string& url = (*db)->url();
  SeedOptions options = Options();
  options.users = 300;
  options.end_date = absl::CivilDay(2024, 3, 10);  // 2024 is a leap year
  ASSERT_TRUE(SeedDatabase(url, options).ok());
  EXPECT_EQ(QueryValue(url,
                       "SELECT min(created_at) >= '2023-09-12 00:00:00+00' "
                       "AND max(created_at) < '2024-03-11 00:00:00+00' "
                       "AND max(created_at) >= '2024-03-10 00:00:00+00' "
                       "FROM user_exercises"),
            "t");
}

TEST(Seeder, RejectsOptionsOutOfRange) {
  // Checked before connecting: the URL is never used.
  const std::string url = "postgresql://nobody@127.0.0.1:1/x";
  SeedOptions options;
  options.users = 0;
  EXPECT_EQ(SeedDatabase(url, options).code(),
            absl::StatusCode::kInvalidArgument);
  options = SeedOptions();
  options.exercises = 0;
  EXPECT_EQ(SeedDatabase(url, options).code(),
            absl::StatusCode::kInvalidArgument);
  options = SeedOptions();
  options.end_date = absl::CivilDay(10000, 1, 1);
  EXPECT_EQ(SeedDatabase(url, options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Seeder, UnmigratedDatabaseIsAFailedPrecondition) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      TestDatabase::Create("seed_empty");
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(SeedDatabase((*db)->url(), SeedOptions()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Seeder, UnreachableServerIsUnavailable) {
  EXPECT_EQ(
      SeedDatabase("postgresql://nobody@127.0.0.1:1/x", SeedOptions()).code(),
      absl::StatusCode::kUnavailable);
}

TEST(SeedCli, EndDateTodayIsTheCurrentUtcDate) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("seed_today");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string& url = (*db)->url();
  const std::string before =
      QueryValue(url, "SELECT (now() AT TIME ZONE 'UTC')::date::text");
  const ProcessResult run = RunSeedBinary(
      {"--users", "100", "--end-date", "today", "--database-url", url});
  const std::string after =
      QueryValue(url, "SELECT (now() AT TIME ZONE 'UTC')::date::text");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // The run may straddle midnight UTC.
  const std::string max_day =
      QueryValue(url,
                 "SELECT (max(created_at) AT TIME ZONE 'UTC')::date::text "
                 "FROM user_exercises");
  EXPECT_TRUE(max_day == before || max_day == after) << max_day;
  EXPECT_TRUE(absl::StrContains(run.out, "end date " + before) ||
              absl::StrContains(run.out, "end date " + after))
      << run.out;
}

TEST(SeedCli, UnreachableServerFailsWithOneLine) {
  ExpectOneLineFailure(
      RunSeedBinary({"--database-url", "postgresql://nobody@127.0.0.1:1/x"}),
      1);
  ExpectOneLineFailure(
      RunSeedBinary({}, {"DATABASE_URL=postgresql://nobody@127.0.0.1:1/x"}), 1);
  ExpectOneLineFailure(
      RunSeedBinary({"--database-url", "host=127.0.0.1 port=notaport"}), 1);
}

TEST(SeedCli, MalformedInputFailsWithOneLineAndStatus64) {
  ExpectOneLineFailure(RunSeedBinary({"--database-url", "postgresql://["}), 64);
  ExpectOneLineFailure(
      RunSeedBinary({"--database-url", "postgresql://nobody@127.0.0.1:1/x",
                     "--end-date", "2026-13-01"}),
      64);
  ExpectOneLineFailure(
      RunSeedBinary({"--database-url", "postgresql://nobody@127.0.0.1:1/x",
                     "--users", "0"}),
      64);
  ExpectOneLineFailure(RunSeedBinary({}), 64);  // no database URL
}

TEST(SeedCli, FlagsOutOfRangeAreUsageErrors) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--users", "100000001"},
                                             {"--users=-1"},
                                             {"--exercises", "0"},
                                             {"--exercises", "10000001"},
                                             {"--lock-timeout", "0s"},
                                             {"--lock-timeout=-1s"},
                                             {"--lock-timeout", "500us"},
                                             {"--lock-timeout", "inf"},
                                             {"--end-date", "1979-12-31"},
                                             {"--end-date", "9999-01-01"}}) {
    std::vector<std::string> args = {"--database-url",
                                     "postgresql://nobody@127.0.0.1:1/x"};
    args.insert(args.end(), flags.begin(), flags.end());
    SCOPED_TRACE(absl::StrJoin(flags, " "));
    ExpectOneLineFailure(RunSeedBinary(args), 64);
  }
}

TEST(SeedCli, ErrorsDoNotRepeatTheDatabaseUrl) {
  const ProcessResult result =
      RunSeedBinary({"--database-url", "postgresql://u:secret@[::1/x"});
  ExpectOneLineFailure(result, 64);
  EXPECT_THAT(result.err, Not(HasSubstr("secret")));
}

TEST(SeedCli, HelpExitsZeroAndDescribesEveryFlag) {
  const ProcessResult result = RunSeedBinary({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* flag : {"--database-url", "--users", "--seed", "--exercises",
                           "--end-date", "--vacuum", "--lock-timeout"}) {
    EXPECT_THAT(result.out + result.err, HasSubstr(flag)) << flag;
  }
}

}  // namespace
}  // namespace tutoring::db
