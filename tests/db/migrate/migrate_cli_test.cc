// Runs the tutoring-migrate binary as a child process (path from
// TUTORING_MIGRATE_BIN) against databases of the test cluster.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/db/catalog.h"
#include "tests/db/migration_files.h"
#include "tests/support/eventually.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A started tutoring-migrate process; `env` entries ("NAME=value") are added
// to this process's environment, from which DATABASE_URL and MIGRATIONS_DIR
// are removed first.
class Child : public Subprocess {
 public:
  Child(const std::vector<std::string>& args,
        const std::vector<std::string>& env)
      : Subprocess(Argv(args), env, {"DATABASE_URL", "MIGRATIONS_DIR"}) {}

 private:
  static std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinaryPath("TUTORING_MIGRATE_BIN")};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

// Expects a clean failure: a normal exit with non-zero status and exactly one
// line on stderr, prefixed with the program name.
void ExpectOneLineFailure(const ProcessResult& result) {
  EXPECT_TRUE(result.exited) << "killed by a signal; stderr: " << result.err;
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, StartsWith("tutoring-migrate: "));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  EXPECT_TRUE(absl::EndsWith(result.err, "\n")) << result.err;
  EXPECT_THAT(result.err, Not(HasSubstr("terminate called")));
}

// How long a test waits in real time for something that takes moments.
constexpr absl::Duration kRealTimeLimit = absl::Seconds(60);

// Key of the advisory lock that gates a test migration.
constexpr int64_t kGateKey = 7235;

// Holds the advisory lock kGateKey in a session of its own until Open().
class Gate {
 public:
  explicit Gate(const std::string& url) : connection_(url) {
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_lock($1)", kGateKey);
  }

  // Releases the lock; later calls do nothing.
  void Open() {
    if (open_) return;
    open_ = true;
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_unlock($1)", kGateKey);
  }

 private:
  pqxx::connection connection_;
  bool open_ = false;
};

// Sessions of the database at `url` waiting for the advisory lock `key`
// (a bigint key below 2^32 is pg_locks.objid, with classid 0).
int SessionsWaitingForAdvisoryLock(const std::string& url, int64_t key) {
  const std::vector<std::string> rows = QueryRows(
      url, absl::StrCat("SELECT count(*) FROM pg_locks WHERE locktype = "
                        "'advisory' AND NOT granted AND classid = 0 AND "
                        "objid = ",
                        key,
                        " AND database = (SELECT oid FROM pg_database WHERE "
                        "datname = current_database())"));
  int count = -1;
  return rows.size() == 1 && absl::SimpleAtoi(rows[0], &count) ? count : -1;
}

int CountOccurrences(absl::string_view text, absl::string_view needle) {
  int count = 0;
  for (size_t pos = text.find(needle); pos != text.npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

class MigrateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDatabase>> database =
        TestDatabase::Create("migrate_cli");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    url_ = database_->url();
  }

  ProcessResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) {
    return Child(args, env).Wait();
  }

  // Flags selecting the test database and the source tree's migrations.
  std::vector<std::string> With(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database-url=" + url_,
                               "--migrations-dir=" + MigrationsDir()});
    return args;
  }

  TempDir scratch_;
  std::unique_ptr<TestDatabase> database_;
  std::string url_;
};

TEST_F(MigrateCliTest, TwoRunnersStartedTogetherApplyEachMigrationOnce) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  // 0003 first waits for the test's gate, so that one runner is inside it,
  // holding the migration lock, while the other waits for that lock; then
  // it builds an index CONCURRENTLY, which must not deadlock with the
  // waiting runner.
  WriteFile(dir.File("0003_gated_index.up.sql"),
            absl::StrCat("-- tutoring:no-transaction\n"
                         "SELECT pg_advisory_lock(",
                         kGateKey,
                         ");\n"
                         "SELECT pg_advisory_unlock(",
                         kGateKey,
                         ");\n"
                         "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
                         "ix_users_created_at\n"
                         "  ON users (created_at);\n"));
  WriteFile(dir.File("0003_gated_index.down.sql"),
            "-- tutoring:no-transaction\n"
            "DROP INDEX CONCURRENTLY IF EXISTS ix_users_created_at;\n");
  const std::vector<std::string> args = {"--database-url=" + url_,
                                         "--migrations-dir=" + dir.path(),
                                         "--lock-timeout=60s", "up"};

  Gate gate(url_);
  Child first(args, {});
  Child second(args, {});
  // Opens the gate even if an assertion fails, so the runners can finish.
  const absl::Cleanup open_gate = [&gate] { gate.Open(); };
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(first.Out() + second.Out(),
                                 "waiting for the migration lock");
      },
      kRealTimeLimit));
  ASSERT_TRUE(Eventually(
      [&] { return SessionsWaitingForAdvisoryLock(url_, kGateKey) == 1; },
      kRealTimeLimit));
  gate.Open();
  const ProcessResult a = first.Wait();
  const ProcessResult b = second.Wait();

  for (const ProcessResult* result : {&a, &b}) {
    EXPECT_TRUE(result->exited);
    EXPECT_EQ(result->exit_code, 0) << result->err;
    EXPECT_EQ(result->err, "");
  }
  const std::string outputs = a.out + b.out;
  for (const char* label :
       {"0001_create_schema", "0002_db_opt_indexes", "0003_gated_index"}) {
    EXPECT_EQ(CountOccurrences(outputs, absl::StrCat("applied ", label, " ")),
              1)
        << label << " in:\n"
        << outputs;
  }
  EXPECT_THAT(QueryRows(url_,
                        "SELECT version, count(*) FROM schema_migrations "
                        "GROUP BY version ORDER BY version"),
              ElementsAre("1 | 1", "2 | 1", "3 | 1"));
  EXPECT_THAT(QueryRows(url_,
                        "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                        "'ix_users_created_at'::regclass"),
              ElementsAre("t"));
}

TEST_F(MigrateCliTest, UpStatusVerifyDownRoundTrip) {
  ProcessResult up = Run(With({"up"}));
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.out, HasSubstr("applied 0001_create_schema"));
  EXPECT_THAT(up.out, HasSubstr("applied 0002_db_opt_indexes"));
  EXPECT_THAT(up.out, HasSubstr("applied 0003_query_indexes"));
  EXPECT_EQ(up.err, "");
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2", "3"));

  ProcessResult status = Run(With({"status"}));
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("0002"));
  EXPECT_THAT(status.out, HasSubstr("db_opt_indexes"));
  EXPECT_THAT(status.out, Not(HasSubstr("pending")));

  EXPECT_EQ(Run(With({"verify"})).exit_code, 0);

  ProcessResult down = Run(With({"down", "--to", "0"}));
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_THAT(down.out, HasSubstr("reverted 0001_create_schema"));
  EXPECT_THAT(AppliedVersions(url_), ElementsAre());
  EXPECT_FALSE(RelationExists(url_, "users"));

  status = Run(With({"status"}));
  EXPECT_EQ(CountOccurrences(status.out, "pending"), 3) << status.out;
  ExpectOneLineFailure(Run(With({"verify"})));
}

TEST_F(MigrateCliTest, UpToAndDownStepsMoveOneVersion) {
  EXPECT_EQ(Run(With({"up", "--to=1"})).exit_code, 0);
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
  EXPECT_EQ(Run(With({"up"})).exit_code, 0);
  EXPECT_EQ(Run(With({"down", "--steps", "2"})).exit_code, 0);
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1"));
  EXPECT_EQ(Run(With({"down"})).exit_code, 0);  // one step by default
  EXPECT_THAT(AppliedVersions(url_), ElementsAre());
}

TEST_F(MigrateCliTest, EditedAppliedFileIsMarkedChangedAndBlocksUp) {
  TempDir dir;
  CopyBaseMigrations(dir.path());
  const std::vector<std::string> flags = {"--database-url=" + url_,
                                          "--migrations-dir=" + dir.path()};
  auto with = [&flags](const std::string& command) {
    std::vector<std::string> args = flags;
    args.push_back(command);
    return args;
  };
  ASSERT_EQ(Run(with("up")).exit_code, 0);
  WriteFile(dir.File("0002_db_opt_indexes.up.sql"), "-- edited\n",
            /*append=*/true);

  const ProcessResult status = Run(with("status"));
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.out, HasSubstr("CHANGED"));
  for (const char* command : {"up", "verify", "down"}) {
    const ProcessResult result = Run(with(command));
    ExpectOneLineFailure(result);
    EXPECT_THAT(result.err, HasSubstr("0002_db_opt_indexes.up.sql")) << command;
  }
}

TEST_F(MigrateCliTest, DatabaseUrlAndFolderComeFromTheEnvironment) {
  const ProcessResult up = Run(
      {"up"}, {"DATABASE_URL=" + url_, "MIGRATIONS_DIR=" + MigrationsDir()});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(AppliedVersions(url_), ElementsAre("1", "2", "3"));
}

TEST_F(MigrateCliTest, FlagsOverrideTheEnvironment) {
  const ProcessResult status =
      Run(With({"status"}), {"DATABASE_URL=postgresql://nobody@127.0.0.1:1/x",
                             "MIGRATIONS_DIR=/nonexistent"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("pending"));
}

TEST_F(MigrateCliTest, UnreachableDatabaseFailsWithOneLineAndStatusOne) {
  for (const char* url :
       {"postgresql://nobody@127.0.0.1:1/x", "host=127.0.0.1 port=notaport"}) {
    SCOPED_TRACE(url);
    for (const char* command : {"up", "status"}) {
      const ProcessResult result =
          Run({absl::StrCat("--database-url=", url),
               "--migrations-dir=" + MigrationsDir(), command});
      ExpectOneLineFailure(result);
      EXPECT_EQ(result.exit_code, 1);
    }
  }
}

TEST_F(MigrateCliTest, MalformedDatabaseUrlIsAUsageError) {
  for (const char* command : {"up", "status"}) {
    const ProcessResult result =
        Run({"--database-url=postgresql://u:secret@[bad",
             "--migrations-dir=" + MigrationsDir(), command});
    ExpectOneLineFailure(result);
    EXPECT_EQ(result.exit_code, 64);
    EXPECT_THAT(result.err, Not(HasSubstr("secret")));
  }
}

TEST_F(MigrateCliTest, MissingMigrationsFolderFailsWithOneLine) {
  const ProcessResult result =
      Run({"--database-url=" + url_,
           "--migrations-dir=" + scratch_.File("no_such_folder"), "up"});
  ExpectOneLineFailure(result);
  EXPECT_THAT(result.err, HasSubstr("no_such_folder"));
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));
}

TEST_F(MigrateCliTest, UsageErrorsExitWithStatus64) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"up"},  // no database URL anywhere
        With({}), With({"sideways"}), With({"up", "down"}),
        With({"up", "--steps=1"}), With({"down", "--steps=1", "--to=0"}),
        With({"status", "--to=1"})}) {
    const ProcessResult result = Run(args);
    ExpectOneLineFailure(result);
    EXPECT_EQ(result.exit_code, 64) << result.err;
  }
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));
}

TEST_F(MigrateCliTest, FlagValuesOutOfRangeExitWithStatus64) {
  for (const std::vector<std::string>& args :
       {With({"up", "--to=-1"}), With({"up", "--to=9999"}),
        With({"down", "--to=-1"}), With({"down", "--to=9999"}),
        With({"down", "--steps=0"}), With({"down", "--steps=-2"}),
        With({"up", "--lock-timeout=0s"}), With({"up", "--lock-timeout=-5s"}),
        With({"down", "--lock-timeout=inf"})}) {
    const ProcessResult result = Run(args);
    ExpectOneLineFailure(result);
    EXPECT_EQ(result.exit_code, 64) << result.err;
  }
  EXPECT_FALSE(RelationExists(url_, "schema_migrations"));
}

TEST_F(MigrateCliTest, RollbackVerifyAcceptsOnlyBackwardCompatibleNewerVersions) {
  TempDir current;
  const int last = CopyRealMigrations(current.path());
  ASSERT_GT(last, 0);
  TempDir next;
  CopyRealMigrations(next.path());
  AddFixtureMigration(next.path(), last + 1, "expand_user_nickname");
  AddFixtureMigration(next.path(), last + 2, "rename_display_name");
  const auto in = [this](const TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {"--database-url=" + url_,
                               "--migrations-dir=" + dir.path()});
    return args;
  };

  // The next release applied only its expand step: the current one may run.
  ASSERT_EQ(Run(in(next, {"up", absl::StrCat("--to=", last + 1)})).exit_code,
            0);
  const ProcessResult accepted = Run(in(current, {"verify"}));
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_THAT(accepted.out, HasSubstr("ahead"));
  const ProcessResult status = Run(in(current, {"status"}));
  EXPECT_THAT(status.out, HasSubstr("backward-compatible"));

  // Its contract step (a rename) blocks the rollback, and the message says
  // which migration does.
  ASSERT_EQ(Run(in(next, {"up"})).exit_code, 0);
  const ProcessResult refused = Run(in(current, {"verify"}));
  ExpectOneLineFailure(refused);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              HasSubstr(absl::StrFormat("%04d_rename_display_name", last + 2)));
}

TEST_F(MigrateCliTest, VerifyWaitReturnsOnceTheMigrationsAreApplied) {
  Child waiting(With({"verify", "--wait=120s"}), {});
  EXPECT_TRUE(Eventually(
      [&] { return absl::StrContains(waiting.Out(), "waiting: "); },
      kRealTimeLimit, absl::Milliseconds(20)));
  ASSERT_EQ(Run(With({"up"})).exit_code, 0);
  const ProcessResult verified = waiting.Wait();
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("pending"));
  EXPECT_THAT(verified.out, HasSubstr("matches"));
}

TEST_F(MigrateCliTest, VerifyWaitGivesUpWithTheLastReason) {
  const ProcessResult result = Run(With({"verify", "--wait=1s"}));
  ExpectOneLineFailure(result);
  EXPECT_THAT(result.err, HasSubstr("pending"));
  EXPECT_EQ(Run(With({"up", "--wait=1s"})).exit_code, 64);
}

TEST_F(MigrateCliTest, HelpExitsZeroAndDescribesEveryFlag) {
  const ProcessResult help = Run({"--help"});
  EXPECT_TRUE(help.exited);
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--database-url", "--migrations-dir", "--to", "--steps",
        "--lock-timeout", "--wait", "DATABASE_URL", "MIGRATIONS_DIR", "up", "down",
        "status", "verify"}) {
    EXPECT_THAT(help.out, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace tutoring::testing
