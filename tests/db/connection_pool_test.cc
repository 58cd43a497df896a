// The pool against a real PostgreSQL server: results, pipelining, coalescing,
// bounds, deadlines, cancellation, broken connections, overflow, lifetime.
// Statements that must stay running wait on an advisory lock the test holds
// (BlockingLock), so the test decides when they end; time-based limits run
// on a FakeClock the test advances.
#include "db/connection_pool.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/pg_activity.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::testing::ElementsAre;
using ::tutoring::testing::Eventually;
using ::tutoring::testing::FakeClock;
using ::tutoring::testing::FaultProxy;
using ::tutoring::testing::TestDatabase;
using ::tutoring::testing::WaitForActiveQueries;
using ::tutoring::testing::WaitForLockWaiters;

// The statements of the tests' pools, by index.
enum Statement : int {
  kTimesTwo,     // $1 * 2, with a batch form that skips values <= 0
  kTimesTen,     // $1 * 10, no batch form
  kWaitForLock,  // waits for advisory lock $1 (held by the test), then 1
  kDivide,       // 100 / $1
  kSleep,        // pg_sleep($1)
  kBackendPid,
  kSetting,        // current_setting($1)
  kGatedTimesTwo,  // $1 * 2 once advisory lock $2 is free, with a batch form
};

std::vector<StatementSpec> TestStatements() {
  return {
      {"times_two", "SELECT $1::int8 * 2",
       "SELECT k.ord, k.v * 2 FROM unnest($1::int8[]) WITH ORDINALITY AS "
       "k(v, ord) WHERE k.v > 0"},
      {"times_ten", "SELECT $1::int8 * 10", ""},
      {"wait_for_lock",
       "SELECT pg_advisory_lock($1::int8), pg_advisory_unlock($1::int8), 1",
       ""},
      {"divide", "SELECT 100 / $1::int", ""},
      {"sleep", "SELECT pg_sleep($1::float8)", ""},
      {"backend_pid", "SELECT pg_backend_pid()", ""},
      {"setting", "SELECT current_setting($1)", ""},
      {"gated_times_two",
       "SELECT $1::int8 * 2 FROM (SELECT pg_advisory_lock_shared($2::int8),"
       " pg_advisory_unlock_shared($2::int8)) l",
       "SELECT k.ord, k.v * 2 FROM unnest($1::int8[], $2::int8[])"
       " WITH ORDINALITY AS k(v, gate, ord)"
       " WHERE pg_advisory_lock_shared(k.gate) IS NOT NULL"
       " AND pg_advisory_unlock_shared(k.gate)"},
  };
}

// The outcome of one Execute, awaited by the test.
class Outcome {
 public:
  ConnectionPool::Done Callback() {
    return [this](absl::StatusOr<QueryResult> result) {
      if (result.ok()) {
        for (int row = 0; row < result->rows(); ++row) {
          rows_.emplace_back(result->Get(row, 0));
        }
      }
      status_ = result.status();
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
  // The first column of every row.
  const std::vector<std::string>& rows() const { return rows_; }

 private:
  absl::Notification done_;
  absl::Status status_;
  absl::Time finished_at_;
  std::vector<std::string> rows_;
};

// An advisory lock held by the test's own session, which kWaitForLock
// statements wait for.
class BlockingLock {
 public:
  BlockingLock(const std::string& url, int64_t key)
      : connection_(url), key_(key) {
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_lock($1)", key_);
  }
  ~BlockingLock() { Release(); }
  int64_t key() const { return key_; }
  void Release() {
    if (released_) return;
    released_ = true;
    pqxx::nontransaction tx(connection_);
    tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
  }

 private:
  pqxx::connection connection_;
  const int64_t key_;
  bool released_ = false;
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
    options.io_threads = 1;
    options.application_name = application_name_;
    options.statements = TestStatements();
    return options;
  }

  std::unique_ptr<ConnectionPool> MakePool(PoolOptions options,
                                           const Clock& clock) {
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create(std::move(options), clock);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }
  std::unique_ptr<ConnectionPool> MakePool(PoolOptions options) {
    return MakePool(std::move(options), real_clock_);
  }

  std::shared_ptr<CallContext> Call(absl::Duration timeout,
                                    const Clock& clock) {
    return std::make_shared<CallContext>(clock.Now() + timeout);
  }
  std::shared_ptr<CallContext> Call(
      absl::Duration timeout = absl::Seconds(20)) {
    return Call(timeout, real_clock_);
  }

  // Waits (bounded) until `count` statements of this test's pool wait for
  // a test's lock (count > 0), or until none runs at all (count == 0).
  // Sends a statement that waits for `lock` and returns true once it runs in
  // PostgreSQL: with pipeline depth 1 the connection stays busy until the
  // test releases the lock.
  bool Occupy(ConnectionPool& pool, const BlockingLock& lock,
              Outcome& outcome) {
    pool.Execute(Call(), kWaitForLock, {absl::StrCat(lock.key())},
                 outcome.Callback());
    return WaitForRunning(1);
  }

  bool WaitForRunning(int count) {
    if (count == 0) {
      return WaitForActiveQueries(db_->url(), application_name_, 0,
                                  absl::Seconds(10)) == 0;
    }
    return WaitForLockWaiters(db_->url(), application_name_, count,
                              absl::Seconds(10)) == count;
  }
  // Waits (bounded) until `pred(pool.Stats())` holds: for what the pool's
  // own thread does after an event (sending, closing).
  template <typename Pred>
  static bool WaitForStats(const ConnectionPool& pool, Pred pred) {
    return Eventually([&] { return pred(pool.Stats()); }, absl::Seconds(10));
  }

  // An Outcome that lives until the test's end, after the test's pool (which
  // may still answer calls when a failed assertion ends the test early).
  Outcome& NewOutcome() {
    outcomes_.push_back(std::make_unique<Outcome>());
    return *outcomes_.back();
  }

  RealClock real_clock_;
  std::unique_ptr<TestDatabase> db_;
  std::string application_name_;
  std::vector<std::unique_ptr<Outcome>> outcomes_;
};

TEST_F(ConnectionPoolTest, RunsAStatementWithItsParameters) {
  auto pool = MakePool(Options(2, 0, 10));
  Outcome& outcome = NewOutcome();
  pool->Execute(Call(), kTimesTwo, {"21"}, outcome.Callback());
  ASSERT_TRUE(outcome.Wait().ok());
  EXPECT_THAT(outcome.rows(), ElementsAre("42"));
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(ConnectionPoolTest, RunsTheSessionSetupOnEveryConnection) {
  PoolOptions options = Options(1, 0, 10);
  options.session_setup.push_back("SET default_transaction_read_only = on");
  options.session_setup.push_back("SET statement_timeout = 1234");
  auto pool = MakePool(options);
  Outcome& read_only = NewOutcome();
  Outcome& timeout = NewOutcome();
  pool->Execute(Call(), kSetting, {"default_transaction_read_only"},
                read_only.Callback());
  pool->Execute(Call(), kSetting, {"statement_timeout"}, timeout.Callback());
  ASSERT_TRUE(read_only.Wait().ok());
  ASSERT_TRUE(timeout.Wait().ok());
  EXPECT_THAT(read_only.rows(), ElementsAre("on"));
  EXPECT_THAT(timeout.rows(), ElementsAre("1234ms"));
}

TEST_F(ConnectionPoolTest, WrongStatementOrParameterCountIsInvalidArgument) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome& unknown = NewOutcome();
  Outcome& too_many = NewOutcome();
  pool->Execute(Call(), 99, {}, unknown.Callback());
  pool->Execute(Call(), kTimesTwo, {"1", "2"}, too_many.Callback());
  ASSERT_TRUE(unknown.HasFinished());
  EXPECT_EQ(unknown.Wait().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(too_many.HasFinished());
  EXPECT_EQ(too_many.Wait().code(), absl::StatusCode::kInvalidArgument);
}

// --- Pipelining ---

TEST_F(ConnectionPoolTest,
       ManyStatementsInFlightOnOneConnectionGetTheirOwnRows) {
  PoolOptions options = Options(1, 0, 1000);
  options.pipeline_depth = 16;
  auto pool = MakePool(options);
  constexpr int kCalls = 200;
  std::vector<Outcome*> outcomes;
  for (int i = 0; i < kCalls; ++i) {
    outcomes.push_back(&NewOutcome());
    pool->Execute(Call(), kTimesTen, {absl::StrCat(i)},
                  outcomes.back()->Callback());
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(outcomes[i]->Wait().ok()) << i;
    EXPECT_THAT(outcomes[i]->rows(), ElementsAre(absl::StrCat(i * 10))) << i;
  }
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.connects, 1);
  EXPECT_EQ(stats.statements_sent, kCalls);
}

TEST_F(ConnectionPoolTest, AFailingStatementFailsOnlyItsOwnCall) {
  PoolOptions options = Options(1, 0, 100);
  options.pipeline_depth = 8;
  options.session_setup.push_back("SET statement_timeout = 300");
  auto pool = MakePool(options);
  // Pipelined behind one another: ok, division by zero, ok, a statement
  // past statement_timeout, ok.
  Outcome& first = NewOutcome();
  Outcome& divide = NewOutcome();
  Outcome& middle = NewOutcome();
  Outcome& slow = NewOutcome();
  Outcome& last = NewOutcome();
  pool->Execute(Call(), kTimesTen, {"1"}, first.Callback());
  pool->Execute(Call(), kDivide, {"0"}, divide.Callback());
  pool->Execute(Call(), kTimesTen, {"2"}, middle.Callback());
  pool->Execute(Call(), kSleep, {"5"}, slow.Callback());
  pool->Execute(Call(), kTimesTen, {"3"}, last.Callback());
  EXPECT_TRUE(first.Wait().ok());
  EXPECT_EQ(divide.Wait().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(middle.Wait().ok());
  EXPECT_EQ(slow.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(last.Wait().ok());
  EXPECT_THAT(last.rows(), ElementsAre("30"));
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(ConnectionPoolTest, KilledBackendFailsEveryCallInFlightAtOnce) {
  PoolOptions options = Options(1, 0, 100);
  options.pipeline_depth = 8;
  auto pool = MakePool(options);
  Outcome& pid = NewOutcome();
  pool->Execute(Call(), kBackendPid, {}, pid.Callback());
  ASSERT_TRUE(pid.Wait().ok());
  BlockingLock lock(db_->url(), 7001);
  std::vector<Outcome*> in_flight;
  for (int i = 0; i < 5; ++i) {
    in_flight.push_back(&NewOutcome());
    pool->Execute(Call(), i == 0 ? kWaitForLock : kTimesTen,
                  {i == 0 ? "7001" : absl::StrCat(i)},
                  in_flight.back()->Callback());
  }
  ASSERT_TRUE(WaitForRunning(1));
  ASSERT_TRUE(WaitForStats(*pool, [](const PoolStats& s) {
    return s.statements_sent == 6;  // the pid, the blocked one, 4 behind
  }));
  absl::Time killed_at;
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", pid.rows()[0]);
    killed_at = absl::Now();
  }
  // "At once": long before anything else could end them (their deadlines
  // are far off, the lock is still held). The bound is loose on purpose, for
  // a loaded box under a sanitizer; bench/ measures the real figure.
  for (auto& outcome : in_flight) {
    EXPECT_EQ(outcome->Wait().code(), absl::StatusCode::kUnavailable);
    EXPECT_LT(outcome->finished_at() - killed_at, absl::Seconds(3));
  }
  Outcome& next = NewOutcome();
  pool->Execute(Call(), kTimesTen, {"7"}, next.Callback());
  ASSERT_TRUE(next.Wait().ok());
  EXPECT_THAT(next.rows(), ElementsAre("70"));
  EXPECT_EQ(pool->Stats().connects, 2);
}

TEST_F(ConnectionPoolTest, IdleConnectionKilledByTheServerIsReplaced) {
  auto pool = MakePool(Options(1, 0, 10));
  Outcome& first = NewOutcome();
  pool->Execute(Call(), kBackendPid, {}, first.Callback());
  ASSERT_TRUE(first.Wait().ok());
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", first.rows()[0]);
  }
  // The pool watches idle connections: it notices on its own.
  ASSERT_TRUE(WaitForStats(
      *pool, [](const PoolStats& s) { return s.open_connections == 0; }));
  Outcome& second = NewOutcome();
  pool->Execute(Call(), kBackendPid, {}, second.Callback());
  ASSERT_TRUE(second.Wait().ok());
  EXPECT_NE(second.rows(), first.rows());
  EXPECT_EQ(pool->Stats().connects, 2);
}

// --- Coalescing ---

TEST_F(ConnectionPoolTest, WaitingCallsOfOneStatementShareOneExecution) {
  PoolOptions options = Options(1, 0, 1000);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7002);
  Outcome& blocker = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, blocker));
  // While the only pipeline slot is taken, calls wait: duplicates, values
  // the batch form answers with no row, and plain ones.
  const std::vector<int> values = {5, 3, 5, -1, 8, 3, 0, 12, 5};
  std::vector<Outcome*> outcomes;
  for (int v : values) {
    outcomes.push_back(&NewOutcome());
    pool->Execute(Call(), kTimesTwo, {absl::StrCat(v)},
                  outcomes.back()->Callback());
  }
  ASSERT_TRUE(WaitForStats(*pool, [&](const PoolStats& s) {
    return s.waiting == static_cast<int>(values.size());
  }));
  lock.Release();
  ASSERT_TRUE(blocker.Wait().ok());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(outcomes[i]->Wait().ok()) << i;
    if (values[i] > 0) {
      EXPECT_THAT(outcomes[i]->rows(), ElementsAre(absl::StrCat(values[i] * 2)))
          << values[i];
    } else {
      EXPECT_TRUE(outcomes[i]->rows().empty()) << values[i];
    }
  }
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.batches_sent, 1);
  EXPECT_EQ(stats.calls_batched, static_cast<int64_t>(values.size()));
  EXPECT_EQ(stats.statements_sent, 2);  // the blocker and one batch
}

TEST_F(ConnectionPoolTest, ALoneCallGoesOutAloneAtOnce) {
  auto pool = MakePool(Options(1, 0, 10));
  for (int i = 1; i <= 3; ++i) {
    Outcome& outcome = NewOutcome();
    pool->Execute(Call(), kTimesTwo, {absl::StrCat(i)}, outcome.Callback());
    ASSERT_TRUE(outcome.Wait().ok());
    EXPECT_THAT(outcome.rows(), ElementsAre(absl::StrCat(2 * i)));
  }
  EXPECT_EQ(pool->Stats().batches_sent, 0);
  EXPECT_EQ(pool->Stats().statements_sent, 3);
}

TEST_F(ConnectionPoolTest, IdenticalCallsWithoutABatchFormShareOneExecution) {
  PoolOptions options = Options(1, 0, 100);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7003);
  Outcome& blocker = NewOutcome();
  Outcome& a = NewOutcome();
  Outcome& b = NewOutcome();
  Outcome& c = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, blocker));
  pool->Execute(Call(), kTimesTen, {"4"}, a.Callback());
  pool->Execute(Call(), kTimesTen, {"4"}, b.Callback());
  pool->Execute(Call(), kTimesTen, {"6"}, c.Callback());
  ASSERT_TRUE(
      WaitForStats(*pool, [](const PoolStats& s) { return s.waiting == 3; }));
  lock.Release();
  ASSERT_TRUE(a.Wait().ok());
  ASSERT_TRUE(b.Wait().ok());
  ASSERT_TRUE(c.Wait().ok());
  EXPECT_THAT(a.rows(), ElementsAre("40"));
  EXPECT_THAT(b.rows(), ElementsAre("40"));
  EXPECT_THAT(c.rows(), ElementsAre("60"));
  EXPECT_EQ(pool->Stats().statements_sent, 3);  // blocker, 4 (twice), 6
}

TEST_F(ConnectionPoolTest, ACancelledCallInABatchLeavesTheOthersTheirAnswers) {
  PoolOptions options = Options(1, 0, 100);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock blocker_lock(db_->url(), 7004);
  BlockingLock gate(db_->url(), 7104);
  Outcome& blocker = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, blocker_lock, blocker));
  // Three calls wait together, then go out as one batch that waits at the
  // gate.
  auto cancelled_call = Call();
  Outcome& kept = NewOutcome();
  Outcome& cancelled = NewOutcome();
  Outcome& other = NewOutcome();
  pool->Execute(Call(), kGatedTimesTwo, {"10", "7104"}, kept.Callback());
  pool->Execute(cancelled_call, kGatedTimesTwo, {"20", "7104"},
                cancelled.Callback());
  pool->Execute(Call(), kGatedTimesTwo, {"30", "7104"}, other.Callback());
  ASSERT_TRUE(
      WaitForStats(*pool, [](const PoolStats& s) { return s.waiting == 3; }));
  blocker_lock.Release();
  ASSERT_TRUE(blocker.Wait().ok());
  ASSERT_TRUE(WaitForStats(
      *pool, [](const PoolStats& s) { return s.batches_sent == 1; }));
  ASSERT_TRUE(WaitForRunning(1));
  const absl::Time cancelled_at = absl::Now();
  cancelled_call->Cancel();
  EXPECT_EQ(cancelled.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(cancelled.finished_at() - cancelled_at, absl::Milliseconds(500));
  // Still running for the live calls: nothing was cancelled in PostgreSQL.
  EXPECT_EQ(::tutoring::testing::LockWaiters(db_->url(), application_name_), 1);
  gate.Release();
  ASSERT_TRUE(kept.Wait().ok());
  ASSERT_TRUE(other.Wait().ok());
  EXPECT_THAT(kept.rows(), ElementsAre("20"));
  EXPECT_THAT(other.rows(), ElementsAre("60"));
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.cancels_sent, 0);
  EXPECT_EQ(stats.calls_batched, 3);
}

TEST_F(ConnectionPoolTest, ABatchWhoseCallsAllGaveUpIsCancelled) {
  PoolOptions options = Options(1, 0, 100);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock blocker_lock(db_->url(), 7005);
  BlockingLock gate(db_->url(), 7105);
  Outcome& blocker = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, blocker_lock, blocker));
  std::vector<std::shared_ptr<CallContext>> calls = {Call(), Call()};
  Outcome& a = NewOutcome();
  Outcome& b = NewOutcome();
  pool->Execute(calls[0], kGatedTimesTwo, {"1", "7105"}, a.Callback());
  pool->Execute(calls[1], kGatedTimesTwo, {"2", "7105"}, b.Callback());
  ASSERT_TRUE(
      WaitForStats(*pool, [](const PoolStats& s) { return s.waiting == 2; }));
  blocker_lock.Release();
  ASSERT_TRUE(blocker.Wait().ok());
  ASSERT_TRUE(WaitForRunning(1));
  calls[0]->Cancel();
  EXPECT_EQ(a.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pool->Stats().cancels_sent, 0);
  calls[1]->Cancel();
  EXPECT_EQ(b.Wait().code(), absl::StatusCode::kCancelled);
  // Nobody needs it any more: cancelled in PostgreSQL, gate still closed.
  EXPECT_TRUE(WaitForRunning(0));
  EXPECT_GE(pool->Stats().cancels_sent, 1);
}

// --- Bounds ---

TEST_F(ConnectionPoolTest, FullQueueIsResourceExhaustedAtOnce) {
  PoolOptions options = Options(1, 0, 1);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7015);
  Outcome& running = NewOutcome();
  Outcome& queued = NewOutcome();
  Outcome& rejected = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, running));
  pool->Execute(Call(), kTimesTen, {"1"}, queued.Callback());
  pool->Execute(Call(), kTimesTen, {"2"}, rejected.Callback());
  // Answered inline, while the first still runs.
  ASSERT_TRUE(rejected.HasFinished());
  EXPECT_EQ(rejected.Wait().code(), absl::StatusCode::kResourceExhausted);
  lock.Release();
  EXPECT_TRUE(running.Wait().ok());
  EXPECT_TRUE(queued.Wait().ok());
}

TEST_F(ConnectionPoolTest, HighPriorityCallsJumpTheQueueAndAreNotCounted) {
  PoolOptions options = Options(1, 0, 1);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7006);
  Outcome& running = NewOutcome();
  Outcome& queued = NewOutcome();
  Outcome& probe = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, running));
  pool->Execute(Call(), kTimesTen, {"1"}, queued.Callback());
  pool->Execute(Call(), kBackendPid, {}, probe.Callback(),
                ConnectionPool::Priority::kHigh);
  EXPECT_FALSE(probe.HasFinished());
  lock.Release();
  ASSERT_TRUE(probe.Wait().ok()) << probe.Wait();
  ASSERT_TRUE(queued.Wait().ok()) << queued.Wait();
  EXPECT_LT(probe.finished_at(), queued.finished_at());
}

TEST_F(ConnectionPoolTest, AcquireTimeoutIsResourceExhausted) {
  FakeClock clock;
  PoolOptions options = Options(1, 0, 10);
  options.pipeline_depth = 1;
  options.acquire_timeout = absl::Milliseconds(200);
  auto pool = MakePool(options, clock);
  BlockingLock lock(db_->url(), 7007);
  Outcome& running = NewOutcome();
  Outcome& waiting = NewOutcome();
  pool->Execute(Call(absl::Seconds(20), clock), kWaitForLock, {"7007"},
                running.Callback());
  ASSERT_TRUE(WaitForRunning(1));
  pool->Execute(Call(absl::Seconds(20), clock), kTimesTen, {"1"},
                waiting.Callback());
  ASSERT_TRUE(
      WaitForStats(*pool, [](const PoolStats& s) { return s.waiting == 1; }));
  clock.Advance(absl::Milliseconds(199));
  EXPECT_FALSE(waiting.HasFinished()) << waiting.Wait();
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kResourceExhausted);
  lock.Release();
  EXPECT_TRUE(running.Wait().ok());
}

// --- Deadlines and cancellation ---

TEST_F(ConnectionPoolTest, DeadlineWhileWaitingIsDeadlineExceeded) {
  FakeClock clock;
  PoolOptions options = Options(1, 0, 10);
  options.pipeline_depth = 1;
  auto pool = MakePool(options, clock);
  BlockingLock lock(db_->url(), 7008);
  Outcome& running = NewOutcome();
  Outcome& waiting = NewOutcome();
  pool->Execute(Call(absl::Seconds(20), clock), kWaitForLock, {"7008"},
                running.Callback());
  ASSERT_TRUE(WaitForRunning(1));
  pool->Execute(Call(absl::Milliseconds(200), clock), kTimesTen, {"1"},
                waiting.Callback());
  clock.Advance(absl::Milliseconds(200));
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(pool->Stats().statements_sent, 1);  // never sent
  lock.Release();
  EXPECT_TRUE(running.Wait().ok());
}

TEST_F(ConnectionPoolTest, ExpiredLoneCallsQueryIsCancelledInTheDatabase) {
  FakeClock clock;
  auto pool = MakePool(Options(1, 0, 10), clock);
  BlockingLock lock(db_->url(), 7009);
  Outcome& outcome = NewOutcome();
  pool->Execute(Call(absl::Milliseconds(300), clock), kWaitForLock, {"7009"},
                outcome.Callback());
  ASSERT_TRUE(WaitForRunning(1));
  clock.Advance(absl::Milliseconds(300));
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  // The lock is still held: only a cancel request ends the query.
  EXPECT_EQ(WaitForActiveQueries(db_->url(), application_name_, 0,
                                 absl::Seconds(5)),
            0);
  EXPECT_GE(pool->Stats().cancels_sent, 1);
  // The connection is usable afterwards.
  Outcome& next = NewOutcome();
  pool->Execute(Call(absl::Seconds(20), clock), kTimesTen, {"5"},
                next.Callback());
  ASSERT_TRUE(next.Wait().ok());
  EXPECT_THAT(next.rows(), ElementsAre("50"));
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(ConnectionPoolTest, CancelStopsTheRunningQuery) {
  auto pool = MakePool(Options(1, 0, 10));
  BlockingLock lock(db_->url(), 7010);
  auto call = Call();
  Outcome& outcome = NewOutcome();
  pool->Execute(call, kWaitForLock, {"7010"}, outcome.Callback());
  ASSERT_TRUE(WaitForRunning(1));
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(outcome.finished_at() - cancelled_at, absl::Milliseconds(500));
  EXPECT_TRUE(WaitForRunning(0));
}

TEST_F(ConnectionPoolTest, CancelRightAfterExecuteEndsTheCallAndItsQuery) {
  auto pool = MakePool(Options(1, 0, 10));
  BlockingLock lock(db_->url(), 7011);
  for (int i = 0; i < 20; ++i) {
    auto call = Call();
    Outcome& outcome = NewOutcome();
    pool->Execute(call, kWaitForLock, {"7011"}, outcome.Callback());
    call->Cancel();
    EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kCancelled);
    EXPECT_TRUE(WaitForRunning(0)) << i;
  }
  // A statement cancelled by a late request of ours is sent again.
  Outcome& next = NewOutcome();
  pool->Execute(Call(), kTimesTen, {"9"}, next.Callback());
  ASSERT_TRUE(next.Wait().ok());
  EXPECT_THAT(next.rows(), ElementsAre("90"));
}

TEST_F(ConnectionPoolTest, CancelWhileQueuedAnswersPromptly) {
  PoolOptions options = Options(1, 0, 10);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7012);
  Outcome& running = NewOutcome();
  Outcome& waiting = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, running));
  auto call = Call();
  pool->Execute(call, kTimesTen, {"1"}, waiting.Callback());
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(waiting.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(waiting.finished_at() - cancelled_at, absl::Milliseconds(500));
  lock.Release();
  EXPECT_TRUE(running.Wait().ok());
  EXPECT_EQ(pool->Stats().statements_sent, 1);
}

// --- Connections ---

TEST_F(ConnectionPoolTest, OverflowConnectionsOpenUnderLoadAndCloseWhenIdle) {
  FakeClock clock;
  PoolOptions options = Options(1, 2, 10);
  options.pipeline_depth = 1;
  options.overflow_idle_timeout = absl::Milliseconds(200);
  auto pool = MakePool(options, clock);
  // Three different statements (identical ones would share one execution).
  std::vector<std::unique_ptr<BlockingLock>> locks;
  std::vector<Outcome*> outcomes;
  for (int i = 0; i < 3; ++i) {
    locks.push_back(std::make_unique<BlockingLock>(db_->url(), 7020 + i));
    outcomes.push_back(&NewOutcome());
    pool->Execute(Call(absl::Seconds(20), clock), kWaitForLock,
                  {absl::StrCat(7020 + i)}, outcomes.back()->Callback());
  }
  ASSERT_TRUE(WaitForRunning(3));
  EXPECT_EQ(pool->Stats().connects, 3);
  locks.clear();
  for (auto& outcome : outcomes) EXPECT_TRUE(outcome->Wait().ok());
  clock.Advance(absl::Milliseconds(199));
  EXPECT_EQ(pool->Stats().open_connections, 3);
  clock.Advance(absl::Milliseconds(1));
  // Overflow connections go after their idle time; the pooled one stays.
  EXPECT_TRUE(WaitForStats(
      *pool, [](const PoolStats& s) { return s.open_connections == 1; }));
}

TEST_F(ConnectionPoolTest, ReplacesConnectionsPastTheirLifetime) {
  FakeClock clock;
  PoolOptions options = Options(1, 0, 10);
  options.max_connection_lifetime = absl::Minutes(30);
  auto pool = MakePool(options, clock);
  for (int i = 0; i < 3; ++i) {
    Outcome& outcome = NewOutcome();
    pool->Execute(Call(absl::Seconds(20), clock), kTimesTen, {"1"},
                  outcome.Callback());
    EXPECT_TRUE(outcome.Wait().ok());
    clock.Advance(absl::Minutes(31));
  }
  EXPECT_EQ(pool->Stats().connects, 3);
}

TEST_F(ConnectionPoolTest, UnreachableDatabaseIsUnavailableQuickly) {
  PoolOptions options = Options(1, 0, 10);
  // Port 1: privileged, nothing listens there.
  options.database_url = "postgresql://nobody@127.0.0.1:1/none";
  auto pool = MakePool(options);
  Outcome& outcome = NewOutcome();
  const absl::Time start = absl::Now();
  pool->Execute(Call(), kTimesTen, {"1"}, outcome.Callback());
  EXPECT_EQ(outcome.Wait().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(outcome.finished_at() - start, absl::Seconds(1));
  // During the reconnect backoff, calls fail at once too.
  Outcome& again = NewOutcome();
  pool->Execute(Call(), kTimesTen, {"1"}, again.Callback());
  EXPECT_EQ(again.Wait().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(pool->Stats().connect_failures, 1);
}

TEST_F(ConnectionPoolTest, MalformedUrlIsRejectedAtCreate) {
  PoolOptions options = Options(1, 0, 10);
  options.database_url = "host=127.0.0.1 port";
  EXPECT_EQ(ConnectionPool::Create(options, real_clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.database_url = "";
  EXPECT_EQ(ConnectionPool::Create(options, real_clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConnectionPoolTest, BadOptionsAreRejectedAtCreate) {
  for (int i = 0; i < 5; ++i) {
    PoolOptions options = Options(1, 0, 10);
    switch (i) {
      case 0:
        options.pool_size = 0;
        break;
      case 1:
        options.pipeline_depth = 0;
        break;
      case 2:
        options.max_batch = 0;
        break;
      case 3:
        options.acquire_timeout = absl::ZeroDuration();
        break;
      case 4:
        options.statements[kTimesTwo].batch_sql = "SELECT 1";
        break;
    }
    EXPECT_EQ(ConnectionPool::Create(options, real_clock_).status().code(),
              absl::StatusCode::kInvalidArgument)
        << i;
  }
}

TEST_F(ConnectionPoolTest, ShutdownFailsWaitingCallsAndRejectsNewOnes) {
  PoolOptions options = Options(1, 0, 10);
  options.pipeline_depth = 1;
  auto pool = MakePool(options);
  BlockingLock lock(db_->url(), 7014);
  Outcome& running = NewOutcome();
  Outcome& queued = NewOutcome();
  Outcome& late = NewOutcome();
  ASSERT_TRUE(Occupy(*pool, lock, running));
  pool->Execute(Call(), kTimesTen, {"1"}, queued.Callback());
  // Shutdown waits for the running statement, which waits for the lock.
  std::thread shutdown([&pool] { pool->Shutdown(); });
  EXPECT_EQ(queued.Wait().code(), absl::StatusCode::kUnavailable);
  pool->Execute(Call(), kTimesTen, {"1"}, late.Callback());
  EXPECT_EQ(late.Wait().code(), absl::StatusCode::kUnavailable);
  lock.Release();
  shutdown.join();
  EXPECT_TRUE(running.Wait().ok());
}

// A server that stops answering (a stalled host: the fault proxy reads and
// forwards nothing): the pool's own promises still hold.
class StalledServerTest : public ConnectionPoolTest {
 protected:
  void SetUp() override {
    ConnectionPoolTest::SetUp();
    auto proxy = FaultProxy::Start(PortOf(db_->url()));
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
  }
  void TearDown() override {
    // Whatever a test left stalled resumes, so nothing waits forever.
    if (proxy_ != nullptr) proxy_->SetMode(FaultProxy::Mode::kPass);
  }

  static int PortOf(const std::string& url) {
    const size_t colon = url.rfind(':');
    return std::stoi(url.substr(colon + 1, url.find('/', colon) - colon - 1));
  }

  // A pool through the proxy, one connection opened and used.
  std::unique_ptr<ConnectionPool> MakeWarmPool() {
    PoolOptions options = Options(1, 0, 10);
    options.database_url =
        ::tutoring::testing::WithPort(db_->url(), proxy_->port());
    options.connect_timeout = absl::Seconds(1);
    auto pool = MakePool(options);
    Outcome& warm = NewOutcome();
    pool->Execute(Call(), kTimesTen, {"1"}, warm.Callback());
    EXPECT_TRUE(warm.Wait().ok());
    return pool;
  }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(StalledServerTest, CallsEndAtTheirDeadlineOrWhenCancelled) {
  auto pool = MakeWarmPool();
  proxy_->SetMode(FaultProxy::Mode::kStall);
  Outcome& timed = NewOutcome();
  const absl::Time start = absl::Now();
  pool->Execute(Call(absl::Milliseconds(300)), kTimesTen, {"2"},
                timed.Callback());
  EXPECT_EQ(timed.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(timed.finished_at() - start, absl::Milliseconds(300 + 400));

  Outcome& cancelled = NewOutcome();
  auto call = Call();
  pool->Execute(call, kTimesTen, {"3"}, cancelled.Callback());
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(cancelled.Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(cancelled.finished_at() - cancelled_at, absl::Milliseconds(400));

  // Once the server answers again, so does the pool.
  proxy_->SetMode(FaultProxy::Mode::kPass);
  EXPECT_TRUE(Eventually(
      [&] {
        Outcome& again = NewOutcome();
        pool->Execute(Call(absl::Seconds(2)), kTimesTen, {"4"},
                      again.Callback());
        return again.Wait().ok() && again.rows() == std::vector<std::string>{
                                                        "40"};
      },
      absl::Seconds(10)));
}

TEST_F(StalledServerTest, CancelRequestsDoNotPileUpWhileTheServerStalls) {
  auto pool = MakeWarmPool();
  proxy_->SetMode(FaultProxy::Mode::kStall);
  Outcome& timed = NewOutcome();
  pool->Execute(Call(absl::Milliseconds(100)), kTimesTen, {"2"},
                timed.Callback());
  EXPECT_EQ(timed.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  // The dead statement's cancel request is repeated every 100 ms; one
  // hangs on the stalled server, one waits behind it, the rest are not
  // queued.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_GE(pool->Stats().cancels_sent, 1);
  EXPECT_LE(pool->Stats().cancels_sent, 3);
}

TEST_F(StalledServerTest, ShutdownDoesNotWaitForTheStalledServer) {
  auto pool = MakeWarmPool();
  proxy_->SetMode(FaultProxy::Mode::kStall);
  // A call in flight on the stalled connection when the shutdown starts.
  Outcome& running = NewOutcome();
  auto call = Call();
  pool->Execute(call, kTimesTen, {"3"}, running.Callback());
  ASSERT_TRUE(WaitForStats(*pool, [](const PoolStats& s) {
    return s.statements_sent >= 2;
  }));

  absl::Notification shut_down;
  std::thread shutdown([&] {
    pool->Shutdown();
    shut_down.Notify();
  });
  // Shutdown lets the live call run on...
  EXPECT_FALSE(shut_down.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  EXPECT_FALSE(running.HasFinished());
  // ...and once its caller gives up, it ends at once and so does Shutdown,
  // although the statement and its cancel requests never get an answer.
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  EXPECT_EQ(running.Wait().code(), absl::StatusCode::kCancelled);
  const bool prompt =
      shut_down.WaitForNotificationWithTimeout(absl::Seconds(2));
  EXPECT_TRUE(prompt) << "Shutdown waited for the stalled server";
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(2));
  proxy_->SetMode(FaultProxy::Mode::kPass);
  shutdown.join();
}

TEST_F(ConnectionPoolTest, SpreadsConnectionsOverItsIoThreads) {
  PoolOptions options = Options(4, 0, 100);
  options.io_threads = 2;
  auto pool = MakePool(options);
  EXPECT_EQ(pool->io_threads(), 2);
  std::vector<Outcome*> outcomes;
  for (int i = 0; i < 50; ++i) {
    outcomes.push_back(&NewOutcome());
    pool->Execute(Call(), kTimesTen, {absl::StrCat(i)},
                  outcomes.back()->Callback());
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(outcomes[i]->Wait().ok());
    EXPECT_THAT(outcomes[i]->rows(), ElementsAre(absl::StrCat(10 * i)));
  }
  // Each thread opened connections of its own.
  EXPECT_GE(pool->Stats().connects, 2);
}

}  // namespace
}  // namespace tutoring::db
