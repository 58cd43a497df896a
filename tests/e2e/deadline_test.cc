// Deadlines, cancellation and the pool's waiting bound, end to end: a test
// transaction holds an ACCESS EXCLUSIVE lock on users, so the server's
// queries block until the lock goes away or the server cancels them.
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/eventually.h"
#include "tests/support/pg_activity.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

// Holds LOCK TABLE users IN ACCESS EXCLUSIVE MODE until destroyed.
class TableLock {
 public:
  explicit TableLock(const std::string& url)
      : connection_(url), tx_(connection_) {
    tx_.exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  }
  ~TableLock() { tx_.abort(); }

 private:
  pqxx::connection connection_;
  pqxx::work tx_;
};

constexpr char kApplicationName[] = "tutoring-deadline-test";

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        CreateMigratedDatabase("deadline");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    pqxx::connection connection(db_->url());
    pqxx::nontransaction tx(connection);
    tx.exec0(
        "INSERT INTO users (email, display_name) "
        "SELECT 'u' || g || '@example.test', 'User ' || g "
        "FROM generate_series(1, 10) g");
  }

  std::unique_ptr<ServerHarness> Start(HarnessOptions options = {}) {
    options.application_name = kApplicationName;
    return ServerHarness::Start(db_->url(), options);
  }

  // Polls until `want` of the server's statements wait on the table lock
  // (want > 0), or none of them runs at all (want == 0): the cancel request
  // reaches the backend a few milliseconds after the call ends.
  bool WaitForServerQueries(int want, absl::Duration timeout) {
    if (want == 0) {
      return WaitForActiveQueries(db_->url(), kApplicationName, 0, timeout) ==
             0;
    }
    return WaitForLockWaiters(db_->url(), kApplicationName, want, timeout) ==
           want;
  }

  static grpc::Status GetUserRole(ServerHarness& harness,
                                  grpc::ClientContext* context) {
    v1::GetUserRoleRequest request;
    request.set_user_id(1);
    v1::GetUserRoleResponse response;
    return harness.stub().GetUserRole(context, request, &response);
  }

  std::unique_ptr<TestDatabase> db_;
};

TEST_F(DeadlineTest, BlockedQueryEndsAtItsDeadlineAndIsCancelledInTheDatabase) {
  auto harness = Start();
  ASSERT_NE(harness, nullptr);
  TableLock lock(db_->url());
  auto context = ContextWithDeadline(absl::Milliseconds(500));
  const absl::Time start = absl::Now();
  const grpc::Status status = GetUserRole(*harness, context.get());
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(elapsed, absl::Milliseconds(450));
  EXPECT_LT(elapsed, absl::Milliseconds(1500));
  // The lock is still held: had the query not been cancelled, it would
  // still be waiting on it.
  EXPECT_TRUE(WaitForServerQueries(0, absl::Seconds(2)));
}

TEST_F(DeadlineTest, ClientCancelCancelsTheQueryInTheDatabase) {
  auto harness = Start();
  ASSERT_NE(harness, nullptr);
  TableLock lock(db_->url());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status status;
  absl::Notification finished;
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  v1::GetUserRoleResponse response;
  harness->stub().async()->GetUserRole(&context, &request, &response,
                                       [&](grpc::Status s) {
                                         status = std::move(s);
                                         finished.Notify();
                                       });
  ASSERT_TRUE(WaitForServerQueries(1, absl::Seconds(5)));
  context.TryCancel();
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitForServerQueries(0, absl::Seconds(2)));
}

TEST_F(DeadlineTest, CallWithoutDeadlineGetsTheServerDefault) {
  HarnessOptions options;
  options.default_deadline = absl::Milliseconds(400);
  auto harness = Start(options);
  ASSERT_NE(harness, nullptr);
  TableLock lock(db_->url());
  grpc::ClientContext context;  // no deadline
  const absl::Time start = absl::Now();
  const grpc::Status status = GetUserRole(*harness, &context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(WaitForServerQueries(0, absl::Seconds(2)));
}

TEST_F(DeadlineTest, FullQueueAnswersResourceExhaustedAtOnce) {
  // Declared first, so that they outlive the server should an assertion end
  // the test early.
  struct Pending {
    grpc::ClientContext context;
    v1::GetUserRoleRequest request;
    v1::GetUserRoleResponse response;
    grpc::Status status;
    absl::Notification done;
  };
  std::vector<std::unique_ptr<Pending>> calls;
  HarnessOptions options;
  options.pool_size = 1;
  options.max_overflow = 0;
  options.max_waiting = 1;
  // One statement at a time on the one connection, so that the second call
  // waits instead of joining the first one's pipeline.
  options.pipeline_depth = 1;
  options.io_threads = 1;
  auto harness = Start(options);
  ASSERT_NE(harness, nullptr);
  // The health probe uses the same pool; wait until it is idle.
  ASSERT_TRUE(harness->WaitForHealth(
      "", grpc::health::v1::HealthCheckResponse::SERVING, absl::Seconds(5)));

  std::unique_ptr<TableLock> lock = std::make_unique<TableLock>(db_->url());
  auto start_call = [&]() {
    calls.push_back(std::make_unique<Pending>());
    Pending* p = calls.back().get();
    p->context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    p->request.set_user_id(1);
    harness->stub().async()->GetUserRole(&p->context, &p->request, &p->response,
                                         [p](grpc::Status s) {
                                           p->status = std::move(s);
                                           p->done.Notify();
                                         });
  };
  start_call();  // runs, blocked on the lock
  ASSERT_TRUE(WaitForServerQueries(1, absl::Seconds(5)));
  start_call();  // waits in the queue
  ASSERT_TRUE(Eventually([&] { return harness->pool().Stats().waiting >= 1; },
                         absl::Seconds(5)));
  ASSERT_EQ(harness->pool().Stats().waiting, 1);
  const absl::Time third_started = absl::Now();
  start_call();
  ASSERT_TRUE(calls[2]->done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(calls[2]->status.error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_LT(absl::Now() - third_started, absl::Milliseconds(500));

  lock.reset();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        calls[i]->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(calls[i]->status.ok()) << calls[i]->status.error_message();
  }
}

}  // namespace
}  // namespace tutoring::testing
