// Graceful shutdown of the real tutoring-server binary: SIGTERM while 32
// calls are in flight (held by a table lock, one statement per connection);
// every one completes OK, new calls are refused, and the process exits 0
// within the grace period.
#include <signal.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/pg_activity.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {
namespace {

constexpr int kInFlight = 32;

// A migrated database `name` with users 1..`users`, all of `role`.
absl::StatusOr<std::unique_ptr<TestDatabase>> DatabaseWithUsers(
    const std::string& name, int users, const std::string& role) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase(name);
  if (!db.ok()) return db;
  pqxx::connection connection((*db)->url());
  pqxx::nontransaction tx(connection);
  tx.exec_params0(
      "INSERT INTO users (email, display_name, role) "
      "SELECT 'u' || g || '@example.test', 'User ' || g, $2::user_role "
      "FROM generate_series(1, $1) g",
      users, role);
  return db;
}

TEST(SigtermTest, InFlightCallsCompleteAndTheProcessExitsZero) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      DatabaseWithUsers("sigterm", 40, "instructor");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string url = (*db)->url();
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      // A slow box may take a while to open 32 connections: the calls
      // wait for them longer than the default 2 s.
      url, {"--database-pool-size=40", "--database-pipeline-depth=1",
            "--database-acquire-timeout=20s", "--shutdown-grace=10s",
            "--health-interval=100ms"});
  ASSERT_NE(server, nullptr);
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);

  // Hold the calls in the database with a lock on users.
  auto lock_connection = std::make_unique<pqxx::connection>(url);
  auto lock = std::make_unique<pqxx::work>(*lock_connection);
  lock->exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

  // 32 different questions (the pool would answer identical ones, or point
  // lookups, with one statement): first pages of 1..32 active users.
  struct Call {
    grpc::ClientContext context;
    v1::ListActiveUsersRequest request;
    v1::ListActiveUsersResponse response;
    grpc::Status status;
    absl::Notification done;
  };
  std::vector<std::unique_ptr<Call>> calls;
  // Whatever ends the test, no call outlives its Call: release the lock,
  // cancel what is left and wait for every callback.
  absl::Cleanup settle_calls = [&] {
    if (lock != nullptr) lock->abort();
    for (const auto& call : calls) call->context.TryCancel();
    for (const auto& call : calls) call->done.WaitForNotification();
  };
  for (int i = 0; i < kInFlight; ++i) {
    calls.push_back(std::make_unique<Call>());
    Call* call = calls.back().get();
    call->context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    call->request.set_page_size(i + 1);
    stub->async()->ListActiveUsers(&call->context, &call->request,
                                   &call->response, [call](grpc::Status s) {
                                     call->status = std::move(s);
                                     call->done.Notify();
                                   });
  }
  const int waiting =
      WaitForLockWaiters(url, "tutoring-server", kInFlight, absl::Seconds(10));
  if (waiting != kInFlight) {
    std::string finished;
    for (int i = 0; i < kInFlight; ++i) {
      if (calls[i]->done.HasBeenNotified()) {
        absl::StrAppend(&finished, " call ", i, ": ",
                        calls[i]->status.error_code(), " ",
                        calls[i]->status.error_message(), ";");
      }
    }
    FAIL() << waiting << " of " << kInFlight
           << " calls wait for the lock; finished:" << finished
           << "\nsessions:\n"
           << DescribeSessions(url, "tutoring-server") << "server log:\n"
           << server->process().Err();
  }

  const absl::Time sigterm_at = absl::Now();
  Subprocess& process = server->process();
  process.Signal(SIGTERM);
  // The server took the signal, and is still running: the calls hold it.
  // New calls are refused meanwhile.
  ASSERT_TRUE(process.WaitForErr("received SIGTERM", absl::Seconds(5)))
      << process.Err();
  EXPECT_FALSE(process.WaitFor(absl::ZeroDuration()).has_value())
      << "exited before its calls";
  {
    auto fresh = v1::TutoringService::NewStub(grpc::CreateChannel(
        server->target(), grpc::InsecureChannelCredentials()));
    v1::GetUserRoleRequest request;
    request.set_user_id(1);
    v1::GetUserRoleResponse response;
    auto context = ContextWithDeadline(absl::Seconds(1));
    EXPECT_NE(
        fresh->GetUserRole(context.get(), request, &response).error_code(),
        grpc::StatusCode::OK);
  }
  for (const auto& call : calls) EXPECT_FALSE(call->done.HasBeenNotified());

  lock->abort();
  lock.reset();
  for (int i = 0; i < kInFlight; ++i) {
    ASSERT_TRUE(
        calls[i]->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(calls[i]->status.ok())
        << i << ": " << calls[i]->status.error_message();
    ASSERT_EQ(calls[i]->response.users_size(), i + 1);
    for (int j = 0; j <= i; ++j) {
      EXPECT_EQ(calls[i]->response.users(j).id(), j + 1);
      EXPECT_EQ(calls[i]->response.users(j).role(), v1::ROLE_INSTRUCTOR);
    }
  }
  const std::optional<ProcessResult> exit = process.WaitFor(absl::Seconds(10));
  ASSERT_TRUE(exit.has_value()) << "did not exit\n" << process.Err();
  EXPECT_TRUE(exit->exited) << exit->err;
  EXPECT_EQ(exit->exit_code, 0) << exit->err;
  EXPECT_LT(absl::Now() - sigterm_at, absl::Seconds(10));
  EXPECT_NE(exit->err.find("tutoring-server stopped"), std::string::npos)
      << exit->err;
}

// Closed-loop load from clients without health checking or retry policies
// (those that notice a shutdown last) when SIGTERM arrives: no call comes
// back CANCELLED, which clients do not retry; every call that does not
// succeed is UNAVAILABLE, refused before any work.
TEST(SigtermTest, UnderLoadNoCallIsCancelled) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      DatabaseWithUsers("sigterm_load", 100, "student");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string url = (*db)->url();
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      url, {"--shutdown-grace=5s", "--access-log-sample=0"});
  ASSERT_NE(server, nullptr);

  constexpr int kClients = 16;
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::map<grpc::StatusCode, std::string> examples;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      // A channel (and connection) per client: distinct arguments keep
      // gRPC from sharing one.
      grpc::ChannelArguments args;
      args.SetInt("tutoring.test.client", i);
      auto stub = v1::TutoringService::NewStub(grpc::CreateCustomChannel(
          server->target(), grpc::InsecureChannelCredentials(), args));
      for (int n = 0; !stop.load(); ++n) {
        v1::GetUserRoleRequest request;
        request.set_user_id(1 + (i * 31 + n) % 100);
        v1::GetUserRoleResponse response;
        auto context = ContextWithDeadline(absl::Seconds(3));
        const grpc::Status status =
            stub->GetUserRole(context.get(), request, &response);
        absl::MutexLock lock(&mu);
        ++codes[status.error_code()];
        if (!status.ok()) examples[status.error_code()] = status.error_message();
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          // The server is gone: do not spin on refused connections.
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  const std::optional<ProcessResult> exit = server->Stop(absl::Seconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& client : clients) client.join();

  ASSERT_TRUE(exit.has_value()) << "did not exit";
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->exit_code, 0) << exit->err;
  absl::MutexLock lock(&mu);
  std::string seen;
  for (const auto& [code, count] : codes) {
    absl::StrAppend(&seen, " ", code, ":", count, " (", examples[code], ")");
  }
  EXPECT_GT(codes.count(grpc::StatusCode::OK), 0u) << seen;
  EXPECT_EQ(codes.count(grpc::StatusCode::CANCELLED), 0u) << seen;
  for (const auto& [code, count] : codes) {
    EXPECT_TRUE(code == grpc::StatusCode::OK ||
                code == grpc::StatusCode::UNAVAILABLE)
        << seen;
  }
}

}  // namespace
}  // namespace tutoring::testing
