// Health follows the database: a PostgreSQL cluster of this test's own
// (tests/support/private_cluster.h) is stopped and started again under
// a running server.
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/time/clock.h"
#include "db/migrate/migrator.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/private_cluster.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

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
  PrivateCluster cluster("outage");
  const std::optional<std::string> started = cluster.Start();
  ASSERT_TRUE(started.has_value());
  const std::string url = *started;
  ASSERT_TRUE(db::MigrateUp(url, MigrationsDir()).ok());
  {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    tx.exec0(
        "INSERT INTO users (email, display_name) VALUES ('a@example.test', "
        "'A')");
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

  ASSERT_TRUE(cluster.Stop());
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

  ASSERT_TRUE(cluster.Start().has_value());
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
