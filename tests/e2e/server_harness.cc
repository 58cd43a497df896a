#include "tests/e2e/server_harness.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/eventually.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

std::unique_ptr<ServerHarness> ServerHarness::Start(
    const std::string& database_url, HarnessOptions options) {
  std::unique_ptr<ServerHarness> harness(new ServerHarness());
  harness->options_ = options;

  absl::StatusOr<server::TimeZoneNames> zones =
      server::TimeZoneNames::LoadFromFile("/usr/share/zoneinfo/tzdata.zi");
  EXPECT_TRUE(zones.ok()) << zones.status();
  if (!zones.ok()) return nullptr;
  harness->zones_ = std::make_unique<server::TimeZoneNames>(*std::move(zones));
  harness->tokens_ = std::make_unique<server::PageTokenCodec>(
      *server::PageTokenCodec::RandomKey());

  db::PoolOptions pool_options;
  // Through the transaction pooler when the test run asks for it.
  pool_options.database_url = ServerDatabaseUrl(database_url);
  pool_options.pool_size = options.pool_size;
  pool_options.max_overflow = options.max_overflow;
  pool_options.io_threads = options.io_threads;
  pool_options.pipeline_depth = options.pipeline_depth;
  pool_options.max_waiting = options.max_waiting;
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.application_name = options.application_name;
  absl::StatusOr<std::unique_ptr<db::ConnectionPool>> pool =
      db::ConnectionPool::Create(
          db::PgRepository::ConfigurePool(
              pool_options, absl::Seconds(60),
              ThroughTransactionPooler() ? db::DatabasePooler::kTransaction
                                         : db::DatabasePooler::kNone),
          harness->clock_);
  EXPECT_TRUE(pool.ok()) << pool.status();
  if (!pool.ok()) return nullptr;
  harness->pool_ = *std::move(pool);
  harness->repository_ = std::make_unique<db::PgRepository>(*harness->pool_);

  server::ServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  server_options.service.default_deadline = options.default_deadline;
  server_options.health.interval = options.health_interval;
  server_options.health.timeout = options.health_timeout;
  server_options.shutdown_grace = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<server::TutoringServer>> server =
      server::TutoringServer::Start(server_options, *harness->repository_,
                                    *harness->tokens_, *harness->zones_,
                                    harness->clock_);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  harness->server_ = *std::move(server);

  harness->channel_ = grpc::CreateChannel(harness->target(),
                                          grpc::InsecureChannelCredentials());
  harness->stub_ = v1::TutoringService::NewStub(harness->channel_);
  harness->health_ = grpc::health::v1::Health::NewStub(harness->channel_);
  return harness;
}

ServerHarness::~ServerHarness() {
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
  if (pool_ != nullptr) pool_->Shutdown();
}

std::string ServerHarness::target() const {
  return absl::StrCat("127.0.0.1:", port());
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
ServerHarness::CheckHealth(const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = ContextWithDeadline(absl::Seconds(2));
  const grpc::Status status = health_->Check(context.get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response.status();
}

bool ServerHarness::WaitForHealth(
    const std::string& service,
    grpc::health::v1::HealthCheckResponse::ServingStatus want,
    absl::Duration timeout) {
  return Eventually(
      [&] {
        auto status = CheckHealth(service);
        return status.ok() && *status == want;
      },
      timeout, absl::Milliseconds(25));
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

}  // namespace tutoring::testing
