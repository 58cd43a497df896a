#include "db/migrate/migrator.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/db/catalog.h"
#include "tests/db/migration_files.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::tutoring::testing::AppliedVersions;
using ::tutoring::testing::CopyBaseMigrations;
using ::tutoring::testing::DumpSchema;
using ::tutoring::testing::FakeClock;
using ::tutoring::testing::IndexColumns;
using ::tutoring::testing::PublicObjectsBesidesBookkeeping;
using ::tutoring::testing::QueryRows;
using ::tutoring::testing::RelationExists;
using ::tutoring::testing::TempDir;
using ::tutoring::testing::TestDatabase;
using ::tutoring::testing::WriteFile;

// The seven DB-OPT indexes of 0002: "index | table | columns".
const std::vector<std::string>& DbOptIndexes() {
  static const auto* const kIndexes = new std::vector<std::string>{
      "idx_user_exercises_user_created | user_exercises | user_id,created_at",
      "ix_exercises_difficulty | exercises | difficulty",
      "ix_exercises_programming_language | exercises | programming_language",
      "ix_user_exercises_status | user_exercises | status",
      "ix_users_is_active | users | is_active",
      "ix_users_onboarding_completed | users | onboarding_completed",
      "ix_users_role | users | role",
  };
  return *kIndexes;
}

std::vector<Migration> Load(const std::string& dir) {
  absl::StatusOr<std::vector<Migration>> migrations = LoadMigrations(dir);
  EXPECT_TRUE(migrations.ok()) << migrations.status();
  return migrations.ok() ? *std::move(migrations) : std::vector<Migration>{};
}

// The progress line of a runner that finds the migration lock taken.
constexpr absl::string_view kWaitingForLock = "waiting for the migration lock";

// How long a test waits in real time for something that takes milliseconds.
constexpr absl::Duration kRealTimeLimit = absl::Seconds(60);

// Holds the migration lock in a session of its own until Release().
class LockHolder {
 public:
  explicit LockHolder(const std::string& url) : connection_(url) {
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }

  void Release() {
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
  }

 private:
  pqxx::connection connection_;
};

// The progress lines of a migrator that runs on another thread.
class ProgressLog {
 public:
  // For MigratorOptions::progress; must not outlive this log.
  std::function<void(absl::string_view)> Callback() {
    return [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    };
  }

  int CountLines(absl::string_view prefix) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return CountLinesLocked(prefix);
  }

  // Waits up to `timeout` until `count` lines start with `prefix`.
  bool WaitForLines(absl::string_view prefix, int count, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, prefix, count]() ABSL_SHARED_LOCKS_REQUIRED(
                            mu_) { return CountLinesLocked(prefix) >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  int CountLinesLocked(absl::string_view prefix) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(std::count_if(
        lines_.begin(), lines_.end(),
        [prefix](const auto& line) { return absl::StartsWith(line, prefix); }));
  }

  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// Whether `call` has returned, waiting up to `timeout` of real time.
bool IsReady(const std::future<absl::Status>& call, absl::Duration timeout) {
  return call.wait_for(absl::ToChronoNanoseconds(timeout)) ==
         std::future_status::ready;
}

// Up and Verify both refuse (FAILED_PRECONDITION) and name `file`.
void ExpectUpAndVerifyRefuseNaming(const Migrator& migrator,
                                   const std::string& file) {
  const absl::Status up = migrator.Up(std::nullopt);
  EXPECT_EQ(up.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(up.message(), HasSubstr(file));
  const absl::Status verify = migrator.Verify();
  EXPECT_EQ(verify.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(verify.message(), HasSubstr(file));
}

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDatabase>> database =
        TestDatabase::Create("migrator");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    url_ = database_->url();
  }

  // A migrator over `dir` whose progress lines go to progress_.
  Migrator MakeMigrator(const std::string& dir,
                        MigratorOptions options = MigratorOptions()) {
    options.progress = [this](absl::string_view line) {
      progress_.emplace_back(line);
    };
    return Migrator(url_, Load(dir), clock_, std::move(options));
  }

  // Over the whole source folder, for tests of the real schema.
  Migrator RealMigrator() { return MakeMigrator(testing::MigrationsDir()); }

  // Over a copy of 0001 and 0002 only, for tests that count migrations.
  Migrator BaseMigrator() {
    if (base_ == nullptr) {
      base_ = std::make_unique<TempDir>();
      CopyBaseMigrations(base_->path());
    }
    return MakeMigrator(base_->path());
  }

  std::unique_ptr<TempDir> base_;

  const RealClock clock_{};
  std::unique_ptr<TestDatabase> database_;
  std::string url_;
  std::vector<std::string> progress_;
};

TEST_F(MigratorTest, UpDownUpReproducesTheSameSchema) {
  const Migrator migrator = RealMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  const std::string first = DumpSchema(url_);
  // Guards against an empty dump comparing equal to an empty dump.
  ASSERT_THAT(first, HasSubstr("users | 4 | role | user_role | t | "
                               "'student'::user_role"));
  ASSERT_THAT(first, HasSubstr("CREATE INDEX idx_user_exercises_user_created"));
  ASSERT_THAT(first, HasSubstr("exercise_status | pending,in_progress,"
                               "completed,skipped"));
  ASSERT_THAT(first, HasSubstr("FOREIGN KEY (user_id) REFERENCES users(id) "
                               "ON DELETE CASCADE"));

  ASSERT_TRUE(migrator.Down(DownTarget::ToVersion(0)).ok());
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_EQ(DumpSchema(url_), first);

  ASSERT_TRUE(migrator.Down(DownTarget::ToVersion(0)).ok());
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_EQ(DumpSchema(url_), first);
}

TEST_F(MigratorTest, DownToZeroLeavesOnlySchemaMigrations) {
  const Migrator migrator = RealMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  ASSERT_THAT(PublicObjectsBesidesBookkeeping(url_),
              Contains("relation users"));
  ASSERT_THAT(PublicObjectsBesidesBookkeeping(url_),
              Contains("type user_role"));

  ASSERT_TRUE(migrator.Down(DownTarget::ToVersion(0)).ok());
  EXPECT_THAT(PublicObjectsBesidesBookkeeping(url_), IsEmpty());
  EXPECT_TRUE(RelationExists(url_, "schema_migrations"));
  EXPECT_THAT(AppliedVersions(url_), IsEmpty());
}

TEST_F(MigratorTest, UpCreatesTheSevenDbOptIndexesOnTheirColumns) {
  ASSERT_TRUE(RealMigrator().Up(std::nullopt).ok());
  const std::vector<std::string> indexes = IndexColumns(url_);
  for (const std::string& expected : DbOptIndexes()) {
    EXPECT_THAT(indexes, Contains(expected));
  }
}

TEST_F(MigratorTest, DownToOneDropsTheIndexesAndKeepsTheTables) {
  const Migrator migrator = RealMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  ASSERT_TRUE(migrator.Down(DownTarget::ToVersion(1)).ok());

  const std::vector<std::string> indexes = IndexColumns(url_);
  for (const std::string& dropped : DbOptIndexes()) {
    EXPECT_THAT(indexes, Not(Contains(dropped)));
  }
  for (const char* table : {"users", "exercises", "user_exercises"}) {
    EXPECT_TRUE(RelationExists(url_, table)) << table;
  }
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
}

TEST_F(MigratorTest, UpRecordsEachMigrationWithNameAndChecksum) {
  const Migrator migrator = BaseMigrator();
  const std::vector<Migration> migrations = Load(base_->path());
  ASSERT_EQ(migrations.size(), 2u);
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_THAT(QueryRows(url_,
                        "SELECT version, name, checksum, applied_at <= now() "
                        "FROM schema_migrations ORDER BY version"),
              ElementsAre(absl::StrCat("1 | create_schema | ",
                                       migrations[0].checksum, " | t"),
                          absl::StrCat("2 | db_opt_indexes | ",
                                       migrations[1].checksum, " | t")));
  EXPECT_THAT(progress_, ElementsAre(HasSubstr("applied 0001_create_schema"),
                                     HasSubstr("applied 0002_db_opt_indexes")));
}

TEST_F(MigratorTest, UpToVersionStopsThere) {
  const Migrator migrator = RealMigrator();
  ASSERT_TRUE(migrator.Up(1).ok());
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
  EXPECT_TRUE(RelationExists(url_, "users"));
  EXPECT_FALSE(RelationExists(url_, "ix_users_role"));
}

TEST_F(MigratorTest, SecondUpAppliesNothing) {
  const Migrator migrator = BaseMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  const std::string schema = DumpSchema(url_);
  progress_.clear();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_THAT(progress_, Not(Contains(HasSubstr("applied"))));
  EXPECT_EQ(DumpSchema(url_), schema);
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
}

TEST_F(MigratorTest, DownByStepsRevertsTheMostRecentFirst) {
  const Migrator migrator = BaseMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  ASSERT_TRUE(migrator.Down(DownTarget::Steps(1)).ok());
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
  ASSERT_TRUE(migrator.Down(DownTarget::Steps(1)).ok());
  EXPECT_THAT(AppliedVersions(url_), IsEmpty());
  EXPECT_FALSE(RelationExists(url_, "users"));
}

TEST_F(MigratorTest, DownByMoreStepsThanAppliedIsOutOfRangeAndRevertsNothing) {
  const Migrator migrator = BaseMigrator();
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_EQ(migrator.Down(DownTarget::Steps(3)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
}

TEST_F(MigratorTest, TargetsOutsideTheFolderAreInvalidArguments) {
  const Migrator migrator = BaseMigrator();
  EXPECT_EQ(migrator.Up(3).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(migrator.Up(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(migrator.Down(DownTarget::ToVersion(3)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(migrator.Down(DownTarget::Steps(0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));
}

TEST_F(MigratorTest, VerifyFailsWhileMigrationsArePending) {
  const Migrator migrator = BaseMigrator();
  EXPECT_EQ(migrator.Verify().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(migrator.Up(1).ok());
  const absl::Status status = migrator.Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("1 of 2"));
  ASSERT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_TRUE(migrator.Verify().ok());
}

TEST_F(MigratorTest, GetStatusAndVerifyCreateNothing) {
  const Migrator migrator = BaseMigrator();
  const absl::StatusOr<std::vector<MigrationState>> states =
      migrator.GetStatus();
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].status, MigrationStatus::kPending);
  EXPECT_FALSE((*states)[0].applied_at.has_value());
  EXPECT_FALSE(migrator.Verify().ok());
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));
}

TEST_F(MigratorTest, EditedAppliedFileMakesUpAndVerifyFailNamingIt) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  ASSERT_TRUE(MakeMigrator(dir.path()).Up(1).ok());
  WriteFile(dir.File("0001_create_schema.up.sql"), "-- edited\n",
            /*append=*/true);

  const Migrator migrator = MakeMigrator(dir.path());
  ExpectUpAndVerifyRefuseNaming(migrator, "0001_create_schema.up.sql");
  const absl::Status down = migrator.Down(DownTarget::ToVersion(0));
  EXPECT_EQ(down.code(), absl::StatusCode::kFailedPrecondition);
  // Refused before doing anything: 0002 is still pending, 0001 still there.
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
  EXPECT_FALSE(RelationExists(url_, "ix_users_role"));
  EXPECT_TRUE(RelationExists(url_, "users"));
}

TEST_F(MigratorTest, MissingAppliedFileMakesUpAndVerifyFailNamingIt) {
  TempDir full;
  CopyBaseMigrations(full.path());
  ASSERT_TRUE(MakeMigrator(full.path()).Up(std::nullopt).ok());
  TempDir shorter;
  CopyBaseMigrations(shorter.path());
  std::filesystem::remove(shorter.File("0002_db_opt_indexes.up.sql"));
  std::filesystem::remove(shorter.File("0002_db_opt_indexes.down.sql"));

  const Migrator migrator = MakeMigrator(shorter.path());
  ExpectUpAndVerifyRefuseNaming(migrator, "0002_db_opt_indexes.up.sql");
  EXPECT_EQ(migrator.Down(DownTarget::Steps(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
}

// A release N (the real folder), the next release N+1 (adds a migration
// marked backward compatible) and the one after (adds a rename, unmarked).
class RollbackTest : public MigratorTest {
 protected:
  void SetUp() override {
    MigratorTest::SetUp();
    last_ = testing::CopyRealMigrations(current_.path());
    ASSERT_GT(last_, 0);
    testing::CopyRealMigrations(next_.path());
    testing::AddFixtureMigration(next_.path(), last_ + 1,
                                 "expand_user_nickname");
    testing::CopyRealMigrations(after_next_.path());
    testing::AddFixtureMigration(after_next_.path(), last_ + 1,
                                 "expand_user_nickname");
    testing::AddFixtureMigration(after_next_.path(), last_ + 2,
                                 "rename_display_name");
  }

  std::string Label(int version, absl::string_view name) const {
    return absl::StrFormat("%04d_%s", version, name);
  }

  TempDir current_;
  TempDir next_;
  TempDir after_next_;
  int last_ = 0;
};

TEST_F(RollbackTest, LoadReadsTheBackwardCompatibleMarker) {
  const std::vector<Migration> migrations = Load(after_next_.path());
  ASSERT_EQ(static_cast<int>(migrations.size()), last_ + 2);
  for (int i = 0; i < last_; ++i) {
    EXPECT_FALSE(migrations[i].backward_compatible) << migrations[i].Label();
  }
  EXPECT_TRUE(migrations[last_].backward_compatible);
  EXPECT_FALSE(migrations[last_ + 1].backward_compatible);
}

TEST_F(RollbackTest, VerifyAcceptsADatabaseAheadByBackwardCompatibleMigrations) {
  ASSERT_TRUE(MakeMigrator(next_.path()).Up(std::nullopt).ok());
  EXPECT_TRUE(MakeMigrator(next_.path()).Verify().ok());

  // Rolled back to release N: its image lacks version N+1's files.
  const Migrator current = MakeMigrator(current_.path());
  progress_.clear();
  const absl::Status verify = current.Verify();
  EXPECT_TRUE(verify.ok()) << verify;
  EXPECT_THAT(progress_, Contains(AllOf(
                             HasSubstr("ahead"),
                             HasSubstr(Label(last_ + 1, "expand_user_nickname")))));
  // The migration Job of release N applies nothing and succeeds.
  EXPECT_TRUE(current.Up(std::nullopt).ok());
  EXPECT_EQ(static_cast<int>(AppliedVersions(url_).size()), last_ + 1);
  // Down cannot revert a version without its files.
  EXPECT_EQ(current.Down(DownTarget::Steps(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(RelationExists(url_, "users"));
  EXPECT_THAT(QueryRows(url_,
                        "SELECT count(*) FROM information_schema.columns "
                        "WHERE table_name = 'users' AND column_name = "
                        "'nickname'"),
              ElementsAre("1"));
}

TEST_F(RollbackTest, VerifyRefusesAnUnmarkedNewerMigrationNamingIt) {
  ASSERT_TRUE(MakeMigrator(after_next_.path()).Up(std::nullopt).ok());
  const std::string blocking = Label(last_ + 2, "rename_display_name");
  for (const TempDir* dir : {&current_, &next_}) {
    const Migrator migrator = MakeMigrator(dir->path());
    const absl::Status verify = migrator.Verify();
    EXPECT_EQ(verify.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(verify.message(), HasSubstr(blocking));
    EXPECT_THAT(verify.message(),
                Not(HasSubstr(Label(last_ + 1, "expand_user_nickname"))));
    const absl::Status up = migrator.Up(std::nullopt);
    EXPECT_EQ(up.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(up.message(), HasSubstr(blocking));
  }
  // Reverting the contract step with the release that has its files makes
  // the rollback possible again.
  ASSERT_TRUE(
      MakeMigrator(after_next_.path()).Down(DownTarget::ToVersion(last_ + 1))
          .ok());
  EXPECT_TRUE(MakeMigrator(current_.path()).Verify().ok());
}

TEST_F(RollbackTest, MarkerIsReadFromTheRecordNotFromTheFolder) {
  // Applied by a runner that recorded it as not backward compatible (rows
  // written before the column existed look like this).
  ASSERT_TRUE(MakeMigrator(next_.path()).Up(std::nullopt).ok());
  QueryRows(url_, absl::StrCat("UPDATE schema_migrations SET "
                               "backward_compatible = false WHERE version = ",
                               last_ + 1, " RETURNING version"));
  const absl::Status verify = MakeMigrator(current_.path()).Verify();
  EXPECT_EQ(verify.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(verify.message(),
              HasSubstr(Label(last_ + 1, "expand_user_nickname")));
}

TEST_F(RollbackTest, TableWithoutTheColumnIsReadAndUpgradedByUp) {
  ASSERT_TRUE(MakeMigrator(current_.path()).Up(std::nullopt).ok());
  QueryRows(url_,
            "ALTER TABLE schema_migrations DROP COLUMN backward_compatible; "
            "SELECT 1");
  EXPECT_TRUE(MakeMigrator(current_.path()).Verify().ok());
  ASSERT_TRUE(MakeMigrator(next_.path()).Up(std::nullopt).ok());
  EXPECT_THAT(QueryRows(url_, absl::StrCat("SELECT backward_compatible FROM "
                                           "schema_migrations ORDER BY version "
                                           "DESC LIMIT 1")),
              ElementsAre("t"));
  EXPECT_TRUE(MakeMigrator(current_.path()).Verify().ok());
}

TEST_F(MigratorTest, GetStatusMarksChangedAndMissingFiles) {
  TempDir full;
  CopyBaseMigrations(full.path());
  ASSERT_TRUE(MakeMigrator(full.path()).Up(std::nullopt).ok());
  TempDir edited;
  CopyBaseMigrations(edited.path());
  WriteFile(edited.File("0001_create_schema.up.sql"), "-- edited\n",
            /*append=*/true);
  std::filesystem::remove(edited.File("0002_db_opt_indexes.up.sql"));
  std::filesystem::remove(edited.File("0002_db_opt_indexes.down.sql"));

  const absl::StatusOr<std::vector<MigrationState>> states =
      MakeMigrator(edited.path()).GetStatus();
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].status, MigrationStatus::kChanged);
  EXPECT_EQ((*states)[1].status, MigrationStatus::kMissingFile);
  EXPECT_EQ((*states)[1].name, "db_opt_indexes");
  EXPECT_TRUE((*states)[1].applied_at.has_value());
}

TEST_F(MigratorTest, FailingMigrationLeavesNoPartialChange) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  WriteFile(dir.File("0003_fails.up.sql"),
            "CREATE TABLE partial_table (id int);\n"
            "INSERT INTO users (email, display_name) VALUES ('a@b.c', 'A');\n"
            "INSERT INTO no_such_table VALUES (1);\n");
  WriteFile(dir.File("0003_fails.down.sql"), "DROP TABLE partial_table;\n");

  const Migrator migrator = MakeMigrator(dir.path());
  const absl::Status status = migrator.Up(std::nullopt);
  // 42P01 undefined_table, as db/postgres/sql_state.h maps it.
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0003_fails.up.sql"));

  EXPECT_FALSE(RelationExists(url_, "partial_table"));
  EXPECT_THAT(QueryRows(url_, "SELECT count(*) FROM users"), ElementsAre("0"));
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
  const std::vector<std::string> indexes = IndexColumns(url_);
  for (const std::string& expected : DbOptIndexes()) {
    EXPECT_THAT(indexes, Contains(expected));
  }
}

TEST_F(MigratorTest, NonTransactionalConcurrentIndexesApplyAndRevert) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  // Two statements: sent as one query string they would form an implicit
  // transaction, which CREATE INDEX CONCURRENTLY rejects.
  WriteFile(dir.File("0003_concurrent.up.sql"),
            "-- tutoring:no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_created_at\n"
            "  ON users (created_at);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_exercises_created_at\n"
            "  ON exercises (created_at);\n");
  WriteFile(dir.File("0003_concurrent.down.sql"),
            "-- tutoring:no-transaction\n"
            "DROP INDEX CONCURRENTLY IF EXISTS ix_exercises_created_at;\n"
            "DROP INDEX CONCURRENTLY IF EXISTS ix_users_created_at;\n");
  const Migrator migrator = MakeMigrator(dir.path());

  const absl::Status up = migrator.Up(std::nullopt);
  ASSERT_TRUE(up.ok()) << up;
  EXPECT_THAT(
      IndexColumns(url_),
      AllOf(Contains("ix_users_created_at | users | created_at"),
            Contains("ix_exercises_created_at | exercises | created_at")));
  EXPECT_THAT(QueryRows(url_,
                        "SELECT bool_and(indisvalid) FROM pg_index WHERE "
                        "indexrelid::regclass::text LIKE 'ix_%_created_at'"),
              ElementsAre("t"));
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2", "3"));

  const absl::Status down = migrator.Down(DownTarget::Steps(1));
  ASSERT_TRUE(down.ok()) << down;
  EXPECT_FALSE(RelationExists(url_, "ix_users_created_at"));
  EXPECT_FALSE(RelationExists(url_, "ix_exercises_created_at"));
  EXPECT_TRUE(RelationExists(url_, "ix_users_role"));
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
}

TEST_F(MigratorTest, NonTransactionalFailureKeepsEarlierStatementsUnrecorded) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  const std::string first =
      "-- tutoring:no-transaction\n"
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_created_at\n"
      "  ON users (created_at);\n";
  WriteFile(dir.File("0003_concurrent.up.sql"),
            first + "CREATE INDEX CONCURRENTLY ix_bad ON no_such_table (x);\n");
  WriteFile(dir.File("0003_concurrent.down.sql"),
            "DROP INDEX IF EXISTS ix_users_created_at;\n");

  const absl::Status status = MakeMigrator(dir.path()).Up(std::nullopt);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("0003_concurrent.up.sql"));
  EXPECT_TRUE(RelationExists(url_, "ix_users_created_at"));
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));

  // The documented recovery: fix the file (never applied, so allowed) and
  // run again; IF NOT EXISTS makes the first statement a no-op.
  WriteFile(dir.File("0003_concurrent.up.sql"), first);
  const absl::Status retry = MakeMigrator(dir.path()).Up(std::nullopt);
  EXPECT_TRUE(retry.ok()) << retry;
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2", "3"));
}

TEST_F(MigratorTest, LockHeldByAnotherSessionTimesOutWithDeadlineExceeded) {
  LockHolder holder(url_);
  TempDir base;
  CopyBaseMigrations(base.path());
  FakeClock clock;
  ProgressLog log;
  MigratorOptions options;
  options.lock_timeout = absl::Minutes(5);
  options.progress = log.Callback();
  const Migrator migrator(url_, Load(base.path()), clock, options);
  std::future<absl::Status> up;
  std::future<absl::Status> down;
  // Should an assertion below fail, a call still waiting times out at once
  // (destroying its future waits for it).
  const absl::Cleanup unblock = [&clock] { clock.Advance(absl::Hours(1)); };

  up = std::async(std::launch::async,
                  [&migrator] { return migrator.Up(std::nullopt); });
  ASSERT_TRUE(log.WaitForLines(kWaitingForLock, 1, kRealTimeLimit));
  EXPECT_FALSE(IsReady(up, absl::ZeroDuration()));
  clock.Advance(absl::Minutes(5));
  ASSERT_TRUE(IsReady(up, kRealTimeLimit));
  EXPECT_EQ(up.get().code(), absl::StatusCode::kDeadlineExceeded);

  down = std::async(std::launch::async, [&migrator] {
    return migrator.Down(DownTarget::ToVersion(0));
  });
  ASSERT_TRUE(log.WaitForLines(kWaitingForLock, 2, kRealTimeLimit));
  clock.Advance(absl::Minutes(5));
  ASSERT_TRUE(IsReady(down, kRealTimeLimit));
  EXPECT_EQ(down.get().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));

  holder.Release();
  EXPECT_TRUE(migrator.Up(std::nullopt).ok());
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
}

TEST_F(MigratorTest, WaitingRunnerTakesTheLockOnceItIsReleased) {
  LockHolder holder(url_);
  TempDir base;
  CopyBaseMigrations(base.path());
  FakeClock clock;
  ProgressLog log;
  MigratorOptions options;
  options.lock_timeout = absl::Hours(1);
  options.lock_poll_interval = absl::Milliseconds(150);
  options.progress = log.Callback();
  const Migrator migrator(url_, Load(base.path()), clock, options);
  std::future<absl::Status> up;
  // As above: on a failed assertion, the waiting call times out at once.
  const absl::Cleanup unblock = [&clock] { clock.Advance(absl::Hours(2)); };

  up = std::async(std::launch::async,
                  [&migrator] { return migrator.Up(std::nullopt); });
  ASSERT_TRUE(log.WaitForLines(kWaitingForLock, 1, kRealTimeLimit));
  holder.Release();
  // The runner looks again once a poll interval of its clock has passed.
  const absl::Time give_up = clock_.Now() + kRealTimeLimit;
  while (!IsReady(up, absl::Milliseconds(1))) {
    ASSERT_LT(clock_.Now(), give_up);
    clock.Advance(options.lock_poll_interval);
  }
  EXPECT_TRUE(up.get().ok());
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2"));
  EXPECT_EQ(log.CountLines(kWaitingForLock), 1);
}

TEST_F(MigratorTest, MigrateUpAppliesEverything) {
  ASSERT_TRUE(MigrateUp(url_, testing::MigrationsDir()).ok());
  std::vector<std::string> all;
  for (const Migration& m : Load(testing::MigrationsDir())) {
    all.push_back(absl::StrCat(m.version));
  }
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(AppliedVersions(url_), all);
  EXPECT_TRUE(RealMigrator().Verify().ok());
}

TEST(MigratorConnection, UnreachableServerIsUnavailable) {
  const RealClock clock;
  const Migrator migrator("postgresql://nobody@127.0.0.1:1/x",
                          Load(testing::MigrationsDir()), clock);
  EXPECT_EQ(migrator.Up(std::nullopt).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(migrator.GetStatus().status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(MigratorConnection, MalformedUrlIsInvalidArgumentWithoutEchoingIt) {
  const RealClock clock;
  for (const char* url : {"postgresql://u:secret@[bad", "port=5432 host"}) {
    const absl::Status status =
        Migrator(url, Load(testing::MigrationsDir()), clock).Verify();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(status.message(), Not(HasSubstr("secret"))) << url;
  }
}

}  // namespace
}  // namespace tutoring::db
