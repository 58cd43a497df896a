// The pool against a real PostgreSQL server: results, bounds, deadlines,
// cancellation, broken connections, overflow.
#include "db/connection_pool.h"

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "db/session.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::tutoring::testing::TestDatabase;

// The outcome of one Run, awaited by the test.
class Outcome {
 public:
  ConnectionPool::Done Callback() {
    return [this](absl::Status status) {
      status_ = std::move(status);
      finished_at_ = absl::Now();
      done_.Notify();
    };
  }
  absl::Status Wait() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(30)))
        << "pool never answered";
    return status_;
  }
  bool HasFinished() const { return done_.HasBeenNotified(); }
  absl::Time finished_at() const { return finished_at_; }

 private:
  absl::Notification done_;
  absl::Status status_;
  absl::Time finished_at_;
};

class ConnectionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        TestDatabase::Create("pool");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    application_name_ = absl::StrCat(
        "pool-test-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  PoolOptions Options(int pool_size, int max_overflow, int max_waiting) {
    PoolOptions options;
    options.database_url = db_->url();
    options.pool_size = pool_size;
    options.max_overflow = max_overflow;
    options.max_waiting = max_waiting;
    options.application_name = application_name_;
    return options;
  }

  std::unique_ptr<ConnectionPool> MakePool(PoolOptions options) {
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create(std::move(options), clock_);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  static std::shared_ptr<CallContext> Call(absl::Duration timeout) {
    return std::make_shared<CallContext>(absl::Now() + timeout);
  }

  static ConnectionPool::Task Sql(std::string sql) {
    return [sql](Session& session) {
      pqxx::nontransaction tx(session.connection());
      tx.exec(sql);
      return absl::OkStatus();
    };
  }

  // Queries of this test's pool still running on the server.
  int ActiveQueries() {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    return tx
        .exec_params1(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
            " AND state = 'active'",
            application_name_)[0]
        .as<int>();
  }

  RealClock clock_;
  std::unique_ptr<TestDatabase> db_;
  std::string application_name_;
};

TEST_F(ConnectionPoolTest, RunsTaskOnAConnection) {
  auto pool = MakePool(Options(2, 0, 10));
  int answer = 0;
  Outcome outcome;
  pool->Run(
      Call(absl::Seconds(10)),
      [&answer](Session& session) {
        pqxx::nontransaction tx(session.connection());
        answer = tx.exec1("SELECT 6 * 7")[0].as<int>();
        return absl::OkStatus();
      },
      outcome.Callback());
  ASSERT_TRUE(outcome.Wait().ok());
  EXPECT_EQ(answer, 42);
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(ConnectionPoolTest, PreparesStatementsAndRunsSessionSetup) {
  PoolOptions options = Options(1, 0, 10);
  options.prepared_statements.push_back({"double_it", "SELECT $1::int * 2"});
  options.session_setup.push_back("SET default_transaction_read_only = on");
  auto pool = MakePool(options);
  int doubled = 0;
  std::string read_only;
  Outcome outcome;
  pool->Run(
      Call(absl::Seconds(10)),
      [&](Session& session) {
        pqxx::nontransaction tx(session.connection());
        doubled = tx.exec_prepared1("double_it", 21)[0].as<int>();
        read_only = tx.exec1("SHOW default_transaction_read_only")[0].c_str();
        return absl::OkStatus();
      },
      outcome.Callback());
  ASSERT_TRUE(outcome.Wait().ok());
  EXPECT_EQ(doubled, 42);
  EXPECT_EQ(read_only, "on");
}

TEST_F(ConnectionPoolTest, FullQueueIsResourceExhaustedAtOnce) {
  auto pool = MakePool(Options(1, 0, 1));
  Outcome running, queued, rejected;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(0.5)"),
            running.Callback());
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), queued.Callback());
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), rejected.Callback());
  // Answered inline, before the sleeping query could end.
  ASSERT_TRUE(rejected.HasFinished());
  EXPECT_EQ(rejected.Wait().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(running.Wait().ok());
  EXPECT_TRUE(queued.Wait().ok());
}

TEST_F(ConnectionPoolTest, AcquireTimeoutIsResourceExhausted) {
  PoolOptions options = Options(1, 0, 10);
  options.acquire_timeout = absl::Milliseconds(200);
  auto pool = MakePool(options);
  Outcome running, waiting;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(1.5)"),
            running.Callback());
  const absl::Time start = absl::Now();
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), waiting.Callback());
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LT(waiting.finished_at() - start, absl::Seconds(1));
  EXPECT_TRUE(running.Wait().ok());
}

TEST_F(ConnectionPoolTest, DeadlineWhileWaitingIsDeadlineExceeded) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome running, waiting;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(1.5)"),
            running.Callback());
  const absl::Time start = absl::Now();
  pool->Run(Call(absl::Milliseconds(200)), Sql("SELECT 1"), waiting.Callback());
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(waiting.finished_at() - start, absl::Seconds(1));
  EXPECT_TRUE(running.Wait().ok());
}

TEST_F(ConnectionPoolTest, DeadlineCancelsTheRunningQuery) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome outcome;
  const absl::Time start = absl::Now();
  pool->Run(Call(absl::Milliseconds(300)), Sql("SELECT pg_sleep(30)"),
            outcome.Callback());
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(outcome.finished_at() - start, absl::Seconds(2));
  EXPECT_EQ(ActiveQueries(), 0);
  // The connection is still usable afterwards.
  Outcome next;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), next.Callback());
  EXPECT_TRUE(next.Wait().ok());
}

// Runs a 30 s query that the call cancels once the task has started; the
// task waits `before_query` before sending it, so the cancel can land while
// no statement runs. The call must end CANCELLED promptly, nothing running.
void ExpectCancelStopsTheQuery(ConnectionPool& pool,
                               std::shared_ptr<CallContext> call,
                               absl::Duration before_query,
                               absl::Duration within,
                               const std::function<int()>& active_queries) {
  Outcome outcome;
  absl::Notification started;
  pool.Run(
      call,
      [&started, before_query](Session& session) {
        started.Notify();
        absl::SleepFor(before_query);
        pqxx::nontransaction tx(session.connection());
        tx.exec("SELECT pg_sleep(30)");
        return absl::OkStatus();
      },
      outcome.Callback());
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(outcome.finished_at() - cancelled_at, within);
  EXPECT_EQ(active_queries(), 0);
}

TEST_F(ConnectionPoolTest, CancelStopsTheRunningQuery) {
  auto pool = MakePool(Options(1, 0, 10));
  ExpectCancelStopsTheQuery(*pool, Call(absl::Seconds(30)),
                            absl::ZeroDuration(), absl::Seconds(2),
                            [this] { return ActiveQueries(); });
}

TEST_F(ConnectionPoolTest, CancelBeforeTheQueryIsSentStillStopsIt) {
  auto pool = MakePool(Options(1, 0, 10));
  // The cancel lands during the 300 ms wait, while no statement runs.
  ExpectCancelStopsTheQuery(*pool, Call(absl::Seconds(30)),
                            absl::Milliseconds(300), absl::Seconds(3),
                            [this] { return ActiveQueries(); });
}

TEST_F(ConnectionPoolTest, CancelWhileQueuedAnswersPromptly) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome running, waiting;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(1.5)"),
            running.Callback());
  std::shared_ptr<CallContext> call = Call(absl::Seconds(10));
  pool->Run(call, Sql("SELECT 1"), waiting.Callback());
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(waiting.finished_at() - cancelled_at, absl::Milliseconds(500));
  EXPECT_TRUE(running.Wait().ok());
}

TEST_F(ConnectionPoolTest, KilledBackendIsReplacedTransparently) {
  auto pool = MakePool(Options(1, 0, 10));
  auto backend_pid = [&pool]() {
    int pid = 0;
    Outcome outcome;
    pool->Run(
        std::make_shared<CallContext>(absl::Now() + absl::Seconds(10)),
        [&pid](Session& session) {
          pqxx::nontransaction tx(session.connection());
          pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
          return absl::OkStatus();
        },
        outcome.Callback());
    EXPECT_TRUE(outcome.Wait().ok());
    return pid;
  };
  const int first = backend_pid();
  ASSERT_GT(first, 0);
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", first);
  }
  const int second = backend_pid();
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_EQ(pool->Stats().connects, 2);
}

TEST_F(ConnectionPoolTest, OverflowConnectionsOpenUnderLoadAndCloseWhenIdle) {
  PoolOptions options = Options(1, 2, 10);
  options.overflow_idle_timeout = absl::Milliseconds(200);
  auto pool = MakePool(options);
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < 3; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(0.3)"),
              outcomes.back()->Callback());
  }
  for (auto& outcome : outcomes) EXPECT_TRUE(outcome->Wait().ok());
  EXPECT_EQ(pool->Stats().connects, 3);
  // Overflow connections go away after their idle timeout; the pooled one
  // stays.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (pool->Stats().open_connections > 1 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(pool->Stats().open_connections, 1);
}

TEST_F(ConnectionPoolTest, UnreachableDatabaseIsUnavailableQuickly) {
  PoolOptions options = Options(1, 0, 10);
  // Port 1: privileged, nothing listens there.
  options.database_url = "postgresql://nobody@127.0.0.1:1/none";
  auto pool = MakePool(options);
  Outcome outcome;
  const absl::Time start = absl::Now();
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), outcome.Callback());
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(outcome.finished_at() - start, absl::Seconds(1));
}

TEST_F(ConnectionPoolTest, MalformedUrlIsRejectedAtCreate) {
  PoolOptions options = Options(1, 0, 10);
  options.database_url = "host=127.0.0.1 port";
  EXPECT_EQ(ConnectionPool::Create(options, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.database_url = "";
  EXPECT_EQ(ConnectionPool::Create(options, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionPoolTest, ShutdownFailsQueuedTasksAndRejectsNewOnes) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome running, queued, late;
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(0.5)"),
            running.Callback());
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), queued.Callback());
  pool->Shutdown();
  EXPECT_TRUE(running.Wait().ok());
  EXPECT_EQ(queued.Wait().code(), absl::StatusCode::kUnavailable);
  pool->Run(Call(absl::Seconds(10)), Sql("SELECT 1"), late.Callback());
  EXPECT_EQ(late.Wait().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ConnectionPoolTest, ReplacesConnectionsPastTheirLifetime) {
  PoolOptions options = Options(1, 0, 10);
  options.max_connection_lifetime = absl::Milliseconds(1);
  auto pool = MakePool(options);
  for (int i = 0; i < 3; ++i) {
    Outcome outcome;
    pool->Run(Call(absl::Seconds(10)), Sql("SELECT pg_sleep(0.01)"),
              outcome.Callback());
    EXPECT_TRUE(outcome.Wait().ok());
  }
  EXPECT_EQ(pool->Stats().connects, 3);
}

}  // namespace
}  // namespace tutoring::db
