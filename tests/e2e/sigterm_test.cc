// Graceful shutdown of the real tutoring-server binary: SIGTERM while 32
// calls are in flight (held by a table lock); every one completes OK, new
// calls are refused, and the process exits 0 within the grace period.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {
namespace {

constexpr int kInFlight = 32;

// tutoring-server as a child process; its stderr is collected by a thread.
class ServerProcess {
 public:
  ServerProcess(const std::string& database_url,
                const std::vector<std::string>& flags) {
    int pipe_fds[2];
    EXPECT_EQ(pipe(pipe_fds), 0);
    std::vector<std::string> args = {BinaryPath("TUTORING_SERVER_BIN"),
                                      "--listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const std::string env = "DATABASE_URL=" + database_url;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], STDERR_FILENO);
      close(pipe_fds[0]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      putenv(const_cast<char*>(env.c_str()));
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    reader_ = std::thread([this, fd = pipe_fds[0]] {
      char buffer[4096];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
        absl::MutexLock lock(&mu_);
        log_.append(buffer, static_cast<size_t>(n));
      }
      close(fd);
    });
  }

  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  // The port from the start line "... (port N) ...", once it appears.
  int WaitForPort(absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up) {
      {
        absl::MutexLock lock(&mu_);
        const size_t at = log_.find("(port ");
        if (at != std::string::npos) {
          const size_t end = log_.find(')', at);
          int port = 0;
          if (end != std::string::npos &&
              absl::SimpleAtoi(log_.substr(at + 6, end - at - 6), &port)) {
            return port;
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return 0;
  }

  // Waits up to `timeout` (zero: just looks) for the process to exit;
  // returns its wait status, or -1. After an exit, log() holds everything
  // the process wrote.
  int Wait(absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        // The pipe reaches end-of-file once the process is gone.
        if (reader_.joinable()) reader_.join();
        return status;
      }
      if (absl::Now() >= give_up) return -1;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  void Signal(int signal) { kill(pid_, signal); }

  std::string log() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  absl::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
};

int ActiveServerQueries(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  return tx
      .exec1(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
          "'tutoring-server' AND state = 'active' AND query NOT LIKE 'SELECT 1%'")[0]
      .as<int>();
}

TEST(SigtermTest, InFlightCallsCompleteAndTheProcessExitsZero) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("sigterm");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string url = (*db)->url();
  {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    tx.exec0(
        "INSERT INTO users (email, display_name, role) "
        "SELECT 'u' || g || '@example.test', 'User ' || g, 'instructor' "
        "FROM generate_series(1, 40) g");
  }
  ServerProcess server(url, {"--database-pool-size=40", "--shutdown-grace=10s",
                             "--health-interval=100ms"});
  const int port = server.WaitForPort(absl::Seconds(10));
  ASSERT_GT(port, 0) << server.log();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);

  // Hold the calls in the database with a lock on users.
  auto lock_connection = std::make_unique<pqxx::connection>(url);
  auto lock = std::make_unique<pqxx::work>(*lock_connection);
  lock->exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

  struct Call {
    grpc::ClientContext context;
    v1::GetUserRoleRequest request;
    v1::GetUserRoleResponse response;
    grpc::Status status;
    absl::Notification done;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kInFlight; ++i) {
    calls.push_back(std::make_unique<Call>());
    Call* call = calls.back().get();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    call->request.set_user_id(i + 1);
    stub->async()->GetUserRole(&call->context, &call->request, &call->response,
                               [call](grpc::Status s) {
                                 call->status = std::move(s);
                                 call->done.Notify();
                               });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (ActiveServerQueries(url) < kInFlight && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(ActiveServerQueries(url), kInFlight);

  const absl::Time sigterm_at = absl::Now();
  server.Signal(SIGTERM);
  // Still running: the calls hold it. New calls are refused meanwhile.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(server.Wait(absl::ZeroDuration()), -1) << "exited before its calls";
  {
    auto fresh = v1::TutoringService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    v1::GetUserRoleRequest request;
    request.set_user_id(1);
    v1::GetUserRoleResponse response;
    auto context = ContextWithDeadline(absl::Seconds(1));
    EXPECT_NE(fresh->GetUserRole(context.get(), request, &response).error_code(),
              grpc::StatusCode::OK);
  }
  for (const auto& call : calls) EXPECT_FALSE(call->done.HasBeenNotified());

  lock->abort();
  for (int i = 0; i < kInFlight; ++i) {
    ASSERT_TRUE(calls[i]->done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(calls[i]->status.ok())
        << i << ": " << calls[i]->status.error_message();
    EXPECT_EQ(calls[i]->response.user_id(), i + 1);
    EXPECT_EQ(calls[i]->response.role(), v1::ROLE_INSTRUCTOR);
  }
  const int status = server.Wait(absl::Seconds(10));
  ASSERT_NE(status, -1) << "did not exit\n" << server.log();
  EXPECT_TRUE(WIFEXITED(status)) << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();
  EXPECT_LT(absl::Now() - sigterm_at, absl::Seconds(10));
  EXPECT_NE(server.log().find("tutoring-server stopped"), std::string::npos)
      << server.log();
}

}  // namespace
}  // namespace tutoring::testing
