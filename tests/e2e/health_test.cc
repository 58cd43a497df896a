// Health follows the database: a PostgreSQL cluster of this test's own
// (scripts/pg, instance "outage-<pid>") is stopped and started again under
// a running server.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "db/migrate/migrator.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

// A free TCP port on 127.0.0.1 (bound, read back, released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

// A private cluster driven through scripts/pg, removed at the end.
class PrivateCluster {
 public:
  PrivateCluster()
      : instance_(absl::StrCat("outage-", getpid())), port_(FreePort()) {}
  ~PrivateCluster() { Run("remove"); }

  // Runs `scripts/pg ... command`; returns its stdout, or nullopt on failure.
  std::optional<std::string> Run(const std::string& command) {
    const std::string line =
        absl::StrCat(BinaryPath("TUTORING_SOURCE_DIR"), "/scripts/pg --instance ",
                     instance_, " --port ", port_, " ", command, " 2>&1");
    FILE* pipe = popen(line.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string out;
    char buffer[512];
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
    const int status = pclose(pipe);
    if (status != 0) {
      ADD_FAILURE() << line << " failed:\n" << out;
      return std::nullopt;
    }
    return out;
  }

 private:
  const std::string instance_;
  const int port_;
};

grpc::StatusCode GetUserRoleCode(ServerHarness& harness, absl::Duration timeout,
                                 absl::Duration* elapsed) {
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  v1::GetUserRoleResponse response;
  auto context = ContextWithDeadline(timeout);
  const absl::Time start = absl::Now();
  const grpc::Status status =
      harness.stub().GetUserRole(context.get(), request, &response);
  *elapsed = absl::Now() - start;
  return status.error_code();
}

TEST(HealthTest, FollowsTheDatabaseDownAndUpWithoutARestart) {
  PrivateCluster cluster;
  const std::optional<std::string> started = cluster.Run("start");
  ASSERT_TRUE(started.has_value());
  // The DSN is the last line scripts/pg prints.
  std::string url(absl::StripTrailingAsciiWhitespace(*started));
  url = url.substr(url.rfind('\n') + 1);
  ASSERT_TRUE(db::MigrateUp(url, MigrationsDir()).ok());
  {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    tx.exec0(
        "INSERT INTO users (email, display_name) VALUES ('a@example.test', 'A')");
  }
  auto harness = ServerHarness::Start(url);
  ASSERT_NE(harness, nullptr);
  absl::Duration elapsed;

  ASSERT_TRUE(harness->WaitForHealth("", HealthCheckResponse::SERVING,
                                     absl::Seconds(5)));
  EXPECT_EQ(*harness->CheckHealth("tutoring.v1.TutoringService"),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(GetUserRoleCode(*harness, absl::Seconds(5), &elapsed),
            grpc::StatusCode::OK);

  ASSERT_TRUE(cluster.Run("stop").has_value());
  EXPECT_TRUE(harness->WaitForHealth("", HealthCheckResponse::NOT_SERVING,
                                     absl::Seconds(5)));
  EXPECT_EQ(*harness->CheckHealth("tutoring.v1.TutoringService"),
            HealthCheckResponse::NOT_SERVING);
  // Liveness does not follow the database.
  EXPECT_EQ(*harness->CheckHealth("liveness"), HealthCheckResponse::SERVING);
  // Calls fail fast with UNAVAILABLE rather than hang until their deadline.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(GetUserRoleCode(*harness, absl::Seconds(10), &elapsed),
              grpc::StatusCode::UNAVAILABLE);
    EXPECT_LT(elapsed, absl::Seconds(1));
  }

  ASSERT_TRUE(cluster.Run("start").has_value());
  EXPECT_TRUE(harness->WaitForHealth("", HealthCheckResponse::SERVING,
                                     absl::Seconds(10)));
  EXPECT_EQ(*harness->CheckHealth("tutoring.v1.TutoringService"),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(GetUserRoleCode(*harness, absl::Seconds(5), &elapsed),
            grpc::StatusCode::OK);
}

TEST(HealthTest, UnknownServiceNameIsNotFound) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("health");
  ASSERT_TRUE(db.ok()) << db.status();
  auto harness = ServerHarness::Start((*db)->url());
  ASSERT_NE(harness, nullptr);
  EXPECT_EQ(harness->CheckHealth("no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tutoring::testing
