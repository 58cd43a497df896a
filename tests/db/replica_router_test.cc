// Read routing on real engines: a private primary and a streaming replica
// made from it with pg_basebackup -R (scripts/pg primary / replica), the
// service's repository over a ReplicaRouter, and what each server says it
// ran (pg_stat_statements, pg_stat_activity). Ground truth comes from plain
// SQL on the primary.
#include "db/replica_router.h"

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "db/migrate/migrator.h"
#include "db/pg_repository.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"
#include "tests/support/pg_activity.h"
#include "tests/support/private_cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::tutoring::testing::BinaryPath;
using ::tutoring::testing::Eventually;
using ::tutoring::testing::MigrationsDir;
using ::tutoring::testing::PrivateCluster;
using ::tutoring::testing::RunProcess;
using ::tutoring::testing::Sessions;

constexpr char kApplication[] = "tutoring-replica-test";
constexpr int kUsers = 2000;
constexpr absl::Duration kMaxLag = absl::Seconds(1);

int64_t QueryInt(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].as<int64_t>();
}

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  tx.exec(sql);
}

// Executions of GetUserRole's statements (single and batch form) the server
// at `url` recorded.
int64_t UserRoleExecutions(const std::string& url) {
  return QueryInt(url,
                  "SELECT COALESCE(sum(calls), 0)::int8 FROM pg_stat_statements"
                  " WHERE query LIKE '%is_active FROM users WHERE id = $1%'"
                  "    OR query LIKE '%AS k(id, ord)%JOIN users%'");
}

class ReplicaRouterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    primary_ = new PrivateCluster("rr-primary");
    replica_ = new PrivateCluster("rr-replica");
    std::optional<std::string> primary_url = primary_->StartPrimary();
    ASSERT_TRUE(primary_url.has_value());
    primary_url_ = new std::string(*primary_url);
    ASSERT_TRUE(MigrateUp(*primary_url_, MigrationsDir()).ok());
    const auto seeded = RunProcess(
        {BinaryPath("TUTORING_SEED_BIN"), "--database-url=" + *primary_url_,
         absl::StrCat("--users=", kUsers), "--seed=7"});
    ASSERT_TRUE(seeded.exited && seeded.exit_code == 0) << seeded.err;
    Exec(*primary_url_, "CREATE TABLE ticks (at timestamptz)");
    std::optional<std::string> replica_url =
        replica_->StartReplicaOf(*primary_);
    ASSERT_TRUE(replica_url.has_value());
    replica_url_ = new std::string(*replica_url);
    // The copy is complete once the last table shows up.
    ASSERT_TRUE(Eventually(
        [] {
          try {
            return QueryInt(*replica_url_, "SELECT count(*) FROM ticks") == 0;
          } catch (const std::exception&) {
            return false;
          }
        },
        absl::Seconds(30), absl::Milliseconds(50)));
    truth_ = new std::map<int64_t, std::pair<std::string, bool>>();
    pqxx::connection connection(*primary_url_);
    pqxx::nontransaction tx(connection);
    for (const auto& row :
         tx.exec("SELECT id, role::text, is_active FROM users ORDER BY id")) {
      (*truth_)[row[0].as<int64_t>()] = {row[1].as<std::string>(),
                                         row[2].as<bool>()};
    }
  }

  static void TearDownTestSuite() {
    delete replica_;
    delete primary_;
    delete primary_url_;
    delete replica_url_;
    delete truth_;
  }

  void SetUp() override {
    ASSERT_NE(replica_url_, nullptr);
    PoolOptions options;
    options.database_url = *primary_url_;
    options.pool_size = 2;
    options.io_threads = 1;
    options.application_name = kApplication;
    options.reconnect_backoff = absl::Milliseconds(100);
    ReplicaRouterOptions router_options;
    router_options.check_interval = absl::Milliseconds(100);
    router_options.check_timeout = absl::Seconds(1);
    router_options.max_lag = kMaxLag;
    auto router = ReplicaRouter::Create(
        PgRepository::ConfigurePool(options, absl::Seconds(60)),
        {*replica_url_}, router_options, clock_);
    ASSERT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
    repository_ = std::make_unique<PgRepository>(*router_);
    ASSERT_TRUE(Eventually([&] { return router_->Endpoints()[1].usable; },
                           absl::Seconds(20), absl::Milliseconds(10)))
        << router_->Endpoints()[1].reason;
  }

  void TearDown() override {
    if (router_ != nullptr) router_->Shutdown();
  }

  // GetUserRole(id) through the router, checked against the primary's rows.
  absl::Status CheckedGetUserRole(int64_t id) {
    absl::Notification done;
    absl::StatusOr<UserRoleRow> row;
    repository_->GetUserRole(
        id, std::make_shared<CallContext>(absl::Now() + absl::Seconds(5)),
        [&](absl::StatusOr<UserRoleRow> result) {
          row = std::move(result);
          done.Notify();
        });
    done.WaitForNotification();
    if (!row.ok()) return row.status();
    const auto& [role, active] = truth_->at(id);
    const char* names[] = {"student", "instructor", "admin"};
    if (names[static_cast<int>(row->role)] != role ||
        row->is_active != active) {
      return absl::InternalError(absl::StrCat("wrong row for user ", id));
    }
    return absl::OkStatus();
  }

  // Calls from `threads` threads, each one after another, until `stop`;
  // failures are collected.
  class Load {
   public:
    Load(ReplicaRouterTest& test, int threads) {
      for (int t = 0; t < threads; ++t) {
        threads_.emplace_back([this, &test, t] {
          for (int64_t i = t; !stop_.load(); i += 7) {
            const absl::Status status = test.CheckedGetUserRole(1 + i % kUsers);
            ok_.fetch_add(status.ok() ? 1 : 0);
            if (!status.ok()) {
              absl::MutexLock lock(&mu_);
              failures_.push_back(status.ToString());
            }
          }
        });
      }
    }
    ~Load() { Stop(); }
    void Stop() {
      stop_.store(true);
      for (auto& t : threads_) {
        if (t.joinable()) t.join();
      }
    }
    int64_t ok() const { return ok_.load(); }
    std::vector<std::string> failures() {
      absl::MutexLock lock(&mu_);
      return failures_;
    }

   private:
    std::atomic<bool> stop_{false};
    std::atomic<int64_t> ok_{0};
    absl::Mutex mu_;
    std::vector<std::string> failures_;
    std::vector<std::thread> threads_;
  };

  // Pauses the replica's replay and waits until it has taken effect.
  static bool PauseReplay() {
    Exec(*replica_url_, "SELECT pg_wal_replay_pause()");
    return Eventually(
        [] {
          return QueryInt(*replica_url_,
                          "SELECT (pg_get_wal_replay_pause_state() = 'paused')"
                          "::int") == 1;
        },
        absl::Seconds(10));
  }

  int64_t PrimaryCalls() { return router_->Endpoints()[0].calls; }
  int64_t ReplicaCalls() { return router_->Endpoints()[1].calls; }

  static PrivateCluster* primary_;
  static PrivateCluster* replica_;
  static std::string* primary_url_;
  static std::string* replica_url_;
  static std::map<int64_t, std::pair<std::string, bool>>* truth_;

  RealClock clock_;
  std::unique_ptr<ReplicaRouter> router_;
  std::unique_ptr<PgRepository> repository_;
};

PrivateCluster* ReplicaRouterTest::primary_ = nullptr;
PrivateCluster* ReplicaRouterTest::replica_ = nullptr;
std::string* ReplicaRouterTest::primary_url_ = nullptr;
std::string* ReplicaRouterTest::replica_url_ = nullptr;
std::map<int64_t, std::pair<std::string, bool>>* ReplicaRouterTest::truth_ =
    nullptr;

TEST_F(ReplicaRouterTest, ReadsAreServedByTheReplica) {
  const int64_t on_primary = UserRoleExecutions(*primary_url_);
  const int64_t on_replica = UserRoleExecutions(*replica_url_);
  for (int64_t id = 1; id <= 300; ++id) {
    ASSERT_TRUE(CheckedGetUserRole(id).ok()) << id;
  }
  // What each server ran: every execution on the replica, none on the
  // primary, whose pool never even connected.
  EXPECT_GT(UserRoleExecutions(*replica_url_) - on_replica, 0);
  EXPECT_EQ(UserRoleExecutions(*primary_url_) - on_primary, 0);
  EXPECT_GT(Sessions(*replica_url_, kApplication), 0);
  EXPECT_EQ(Sessions(*primary_url_, kApplication), 0);
  const std::vector<EndpointStatus> endpoints = router_->Endpoints();
  EXPECT_EQ(endpoints[0].role, EndpointStatus::Role::kPrimary);
  EXPECT_EQ(endpoints[1].role, EndpointStatus::Role::kReplica);
  EXPECT_EQ(endpoints[1].calls, 300);
  EXPECT_EQ(endpoints[0].calls, 0);
  EXPECT_TRUE(endpoints[1].usable);
  EXPECT_GT(endpoints[1].pool.statements_sent, 0);
  EXPECT_TRUE(absl::StrContains(endpoints[1].name,
                                absl::StrCat("port=", replica_->port())))
      << endpoints[1].name;
}

TEST_F(ReplicaRouterTest, StoppedReplicaMovesReadsToThePrimaryAndBack) {
  constexpr int kThreads = 4;
  Load load(*this, kThreads);
  ASSERT_TRUE(Eventually([&] { return load.ok() > 200; }, absl::Seconds(20)));
  ASSERT_EQ(PrimaryCalls(), 0);

  const absl::Time stop_at = absl::Now();
  ASSERT_TRUE(replica_->Stop());
  const absl::Time stopped = absl::Now();
  // Reads move to the primary.
  ASSERT_TRUE(
      Eventually([&] { return PrimaryCalls() > 0; }, absl::Seconds(10)));
  const absl::Time moved = absl::Now();
  const int64_t ok_when_moved = load.ok();
  ASSERT_TRUE(Eventually([&] { return load.ok() > ok_when_moved + 200; },
                         absl::Seconds(20)));
  EXPECT_FALSE(router_->Endpoints()[1].usable);
  EXPECT_FALSE(router_->Endpoints()[1].reason.empty());
  const std::vector<std::string> failures_while_down = load.failures();
  // Calls in flight on the replica when it died are sent to the primary
  // once; at most those could fail.
  EXPECT_LE(failures_while_down.size(), static_cast<size_t>(kThreads))
      << failures_while_down[0];
  const int64_t retried = router_->Endpoints()[1].retried_elsewhere;

  // The replica comes back and takes the reads again.
  ASSERT_TRUE(replica_->Start().has_value());
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(Eventually([&] { return router_->Endpoints()[1].usable; },
                         absl::Seconds(20), absl::Milliseconds(5)));
  const absl::Time back = absl::Now();
  const int64_t primary_after = PrimaryCalls();
  const int64_t replica_after = ReplicaCalls();
  ASSERT_TRUE(Eventually([&] { return ReplicaCalls() > replica_after + 200; },
                         absl::Seconds(20)));
  // Only calls that chose the primary just before the replica came back.
  EXPECT_LE(PrimaryCalls(), primary_after + kThreads);
  load.Stop();
  EXPECT_EQ(load.failures().size(), failures_while_down.size());
  std::cout << "failover: replica stop took "
            << absl::FormatDuration(stopped - stop_at)
            << "; first read on the primary "
            << absl::FormatDuration(moved - stop_at)
            << " after the stop began; calls failed: "
            << failures_while_down.size() << " of "
            << load.ok() + static_cast<int64_t>(load.failures().size())
            << "; calls retried on the primary: " << retried
            << "; replica usable again "
            << absl::FormatDuration(back - restarted) << " after its restart\n";
}

TEST_F(ReplicaRouterTest, PausedReplayTakesTheReplicaOutUntilResumed) {
  std::atomic<bool> stop_writing{false};
  std::thread writer([&] {
    pqxx::connection connection(*primary_url_);
    while (!stop_writing.load()) {
      pqxx::nontransaction tx(connection);
      tx.exec0("INSERT INTO ticks VALUES (now())");
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  absl::Cleanup stop_writer = [&] {
    stop_writing.store(true);
    writer.join();
    try {
      Exec(*replica_url_, "SELECT pg_wal_replay_resume()");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  };
  constexpr int kThreads = 2;
  Load load(*this, kThreads);
  ASSERT_TRUE(Eventually([&] { return load.ok() > 100; }, absl::Seconds(20)));
  EXPECT_TRUE(router_->Endpoints()[1].usable);

  // The replica has replayed one of the writer's commits since it started
  // (its replay timestamp is unset before that).
  ASSERT_TRUE(Eventually(
      [&] {
        return QueryInt(*replica_url_,
                        "SELECT (pg_last_xact_replay_timestamp() IS NOT NULL)"
                        "::int") == 1;
      },
      absl::Seconds(20), absl::Milliseconds(20)));
  const absl::Time paused = absl::Now();
  // Replay stands still at this commit: the lag bound is passed a second
  // after it (same machine, same clock).
  ASSERT_TRUE(PauseReplay());
  const absl::Time last_replayed = absl::FromUnixMicros(
      QueryInt(*replica_url_,
               "SELECT (EXTRACT(epoch FROM pg_last_xact_replay_timestamp())"
               " * 1000000)::int8"));
  ASSERT_TRUE(Eventually([&] { return !router_->Endpoints()[1].usable; },
                         absl::Seconds(20), absl::Milliseconds(5)))
      << "lag " << router_->Endpoints()[1].lag;
  const absl::Time out = absl::Now();
  const std::string reason = router_->Endpoints()[1].reason;
  EXPECT_TRUE(absl::StrContains(reason, "replay lag")) << reason;
  // Not before the lag could pass the bound.
  EXPECT_GE(out, last_replayed + kMaxLag);
  const int64_t primary_calls = PrimaryCalls();
  ASSERT_TRUE(Eventually([&] { return PrimaryCalls() > primary_calls + 50; },
                         absl::Seconds(20)));

  Exec(*replica_url_, "SELECT pg_wal_replay_resume()");
  const absl::Time resumed = absl::Now();
  ASSERT_TRUE(Eventually([&] { return router_->Endpoints()[1].usable; },
                         absl::Seconds(20), absl::Milliseconds(5)));
  const absl::Time back = absl::Now();
  const int64_t replica_calls = ReplicaCalls();
  ASSERT_TRUE(Eventually([&] { return ReplicaCalls() > replica_calls + 50; },
                         absl::Seconds(20)));
  load.Stop();
  EXPECT_TRUE(load.failures().empty()) << load.failures()[0];
  std::cout << "lag: replica out " << absl::FormatDuration(out - paused)
            << " after replay paused (bound " << absl::FormatDuration(kMaxLag)
            << "), back " << absl::FormatDuration(back - resumed)
            << " after resume\n";
}

// After a quiet spell the last replayed commit is old; WAL without a commit
// (here a checkpoint) that the replica has not replayed yet must not count
// that whole spell as lag. Replay is paused so that the replica stays
// behind: it stays usable until it has been behind for the bound, then goes.
TEST_F(ReplicaRouterTest, WalAfterAQuietSpellIsNotCountedAsLag) {
  ASSERT_TRUE(Eventually(
      [] {
        return QueryInt(
                   *replica_url_,
                   "SELECT (COALESCE(EXTRACT(epoch FROM now() -"
                   " pg_last_xact_replay_timestamp()), 1e6) * 1000)::int8") >
               absl::ToInt64Milliseconds(2 * kMaxLag);
      },
      absl::Seconds(30), absl::Milliseconds(50)))
      << "the primary never stayed quiet for " << 2 * kMaxLag;
  ASSERT_TRUE(router_->Endpoints()[1].usable);
  ASSERT_TRUE(PauseReplay());
  Exec(*primary_url_, "CHECKPOINT");
  ASSERT_TRUE(Eventually(
      [] {
        return QueryInt(*replica_url_,
                        "SELECT (pg_last_wal_receive_lsn() >"
                        " pg_last_wal_replay_lsn())::int") == 1;
      },
      absl::Seconds(10)));
  // Behind now, by well under the bound: every probe in the next 300 ms
  // still finds it usable (the old measure gave the quiet spell, > 2 s).
  const absl::Time behind = absl::Now();
  while (absl::Now() < behind + absl::Milliseconds(300)) {
    const EndpointStatus replica = router_->Endpoints()[1];
    ASSERT_TRUE(replica.usable) << replica.reason;
    EXPECT_LT(replica.lag, kMaxLag);
    absl::SleepFor(absl::Milliseconds(5));
  }
  // Replay stands still, so it goes once it has been behind for the bound
  // (counted from the last probe that found it caught up, which may have
  // been sent just before the pause: no lower bound is asserted here).
  ASSERT_TRUE(Eventually([&] { return !router_->Endpoints()[1].usable; },
                         absl::Seconds(20), absl::Milliseconds(5)));
  EXPECT_TRUE(absl::StrContains(router_->Endpoints()[1].reason, "replay lag"))
      << router_->Endpoints()[1].reason;
  Exec(*replica_url_, "SELECT pg_wal_replay_resume()");
  ASSERT_TRUE(Eventually([&] { return router_->Endpoints()[1].usable; },
                         absl::Seconds(20), absl::Milliseconds(5)));
}

}  // namespace
}  // namespace tutoring::db
