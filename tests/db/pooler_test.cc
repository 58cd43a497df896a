// A real PgBouncer (Debian's) in transaction pooling mode in front of the
// test cluster: the pool's unnamed-statement mode works through it, named
// prepared statements are not needed, and tutoring-migrate refuses to take
// its session-level lock through it. (The whole e2e suite also runs through
// such a PgBouncer: scripts/test's pooler pass.)
#include <atomic>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "db/connection_pool.h"
#include "db/pg_repository.h"
#include "gtest/gtest.h"
#include "tests/support/private_cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::tutoring::testing::AdminDatabaseUrl;
using ::tutoring::testing::BinaryPath;
using ::tutoring::testing::CreateMigratedDatabase;
using ::tutoring::testing::MigrationsDir;
using ::tutoring::testing::PrivateCluster;
using ::tutoring::testing::ProcessResult;
using ::tutoring::testing::RunProcess;
using ::tutoring::testing::TestDatabase;
using ::tutoring::testing::WithDatabaseName;

// The port of a postgresql://user@host:port/db URL.
int PortOf(const std::string& url) {
  const size_t colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1, url.find('/', colon) - colon - 1));
}

class PoolerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bouncer_ = std::make_unique<PrivateCluster>("pgbouncer");
    std::optional<std::string> url =
        bouncer_->StartPgBouncerTo(PortOf(AdminDatabaseUrl()));
    ASSERT_TRUE(url.has_value());
    auto database = CreateMigratedDatabase("pooler");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    pooled_url_ = WithDatabaseName(*url, database_->name());
  }

  ProcessResult Migrate(const std::string& url,
                        std::vector<std::string> flags = {}) {
    std::vector<std::string> argv = {BinaryPath("TUTORING_MIGRATE_BIN"),
                                     "--database-url=" + url,
                                     "--migrations-dir=" + MigrationsDir()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("up");
    return RunProcess(argv, {}, {"DATABASE_POOLER"});
  }

  std::unique_ptr<PrivateCluster> bouncer_;
  std::unique_ptr<TestDatabase> database_;
  std::string pooled_url_;
};

TEST_F(PoolerTest, MigratorRefusesToRunThroughTheTransactionPooler) {
  const ProcessResult through = Migrate(pooled_url_);
  EXPECT_TRUE(through.exited);
  EXPECT_EQ(through.exit_code, 1) << through.out << through.err;
  EXPECT_TRUE(absl::StrContains(through.err, "connection pooler"))
      << through.err;
  EXPECT_TRUE(absl::StrContains(through.err, "advisory lock")) << through.err;

  // Told so, it refuses even on a direct connection.
  const ProcessResult told =
      Migrate(database_->url(), {"--database-pooler=transaction"});
  EXPECT_EQ(told.exit_code, 1) << told.err;
  EXPECT_TRUE(absl::StrContains(told.err, "transaction pooler")) << told.err;

  // Directly, with the default detection, it runs (nothing is pending).
  const ProcessResult direct = Migrate(database_->url());
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
}

TEST_F(PoolerTest, UnnamedStatementsWorkThroughTheTransactionPooler) {
  {
    pqxx::connection admin(database_->url());
    pqxx::nontransaction tx(admin);
    tx.exec0(
        "INSERT INTO users (email, display_name, role, is_active)"
        " SELECT 'u' || g || '@example.com', 'User ' || g,"
        "   (ARRAY['student','instructor','admin'])[1 + g % 3]::user_role,"
        "   g % 2 = 0"
        " FROM generate_series(1, 500) g");
  }
  RealClock clock;
  PoolOptions options;
  options.database_url = pooled_url_;
  options.pool_size = 4;
  options.io_threads = 1;
  options.max_waiting = 10000;
  options.application_name = "tutoring-pooler-test";
  auto pool = ConnectionPool::Create(
      PgRepository::ConfigurePool(options, absl::Seconds(60),
                                  DatabasePooler::kTransaction),
      clock);
  ASSERT_TRUE(pool.ok()) << pool.status();
  PgRepository repository(**pool);

  // Many concurrent lookups (coalesced into batch forms, pipelined), each
  // checked against the table read directly.
  std::map<int64_t, std::pair<std::string, bool>> truth;
  {
    pqxx::connection admin(database_->url());
    pqxx::nontransaction tx(admin);
    for (const auto& row :
         tx.exec("SELECT id, role::text, is_active FROM users")) {
      truth[row[0].as<int64_t>()] = {row[1].as<std::string>(),
                                     row[2].as<bool>()};
    }
  }
  ASSERT_EQ(truth.size(), 500u);
  constexpr int kCalls = 2000;
  std::atomic<int> left{kCalls};
  std::atomic<int> wrong{0};
  absl::Notification all_done;
  std::vector<std::string> errors(kCalls);
  const char* names[] = {"student", "instructor", "admin"};
  for (int i = 0; i < kCalls; ++i) {
    const int64_t id = truth.begin()->first + i % 520;  // some do not exist
    repository.GetUserRole(
        id, std::make_shared<CallContext>(absl::Now() + absl::Seconds(20)),
        [&, i, id](absl::StatusOr<UserRoleRow> row) {
          const auto it = truth.find(id);
          const bool ok =
              it == truth.end()
                  ? row.status().code() == absl::StatusCode::kNotFound
                  : row.ok() && names[static_cast<int>(row->role)] ==
                                    it->second.first &&
                        row->is_active == it->second.second;
          if (!ok) {
            errors[i] = row.ok() ? "wrong row" : row.status().ToString();
            wrong.fetch_add(1);
          }
          if (left.fetch_sub(1) == 1) all_done.Notify();
        });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  int first_wrong = 0;
  while (first_wrong < kCalls - 1 && errors[first_wrong].empty()) ++first_wrong;
  EXPECT_EQ(wrong.load(), 0) << errors[first_wrong];
  const PoolStats stats = (*pool)->Stats();
  EXPECT_GT(stats.statements_sent, 0);
  (*pool)->Shutdown();
}

TEST(PoolerOptionsTest, UnnamedStatementsRefuseSessionSetup) {
  RealClock clock;
  PoolOptions options;
  options.database_url = "postgresql://nobody@127.0.0.1:1/none";
  options.unnamed_statements = true;
  options.session_setup = {"SET statement_timeout = 1000"};
  auto pool = ConnectionPool::Create(options, clock);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  // What ConfigurePool gives for a transaction pooler passes.
  options.session_setup.clear();
  EXPECT_TRUE(ConnectionPool::Create(
                  PgRepository::ConfigurePool(options, absl::Seconds(1),
                                              DatabasePooler::kTransaction),
                  clock)
                  .ok());
  EXPECT_TRUE(PgRepository::ConfigurePool(options, absl::Seconds(1),
                                          DatabasePooler::kTransaction)
                  .session_setup.empty());
  EXPECT_EQ(ParseDatabasePooler("transaction").value(),
            DatabasePooler::kTransaction);
  EXPECT_EQ(ParseDatabasePooler("none").value(), DatabasePooler::kNone);
  EXPECT_FALSE(ParseDatabasePooler("statement").ok());
}

}  // namespace
}  // namespace tutoring::db
