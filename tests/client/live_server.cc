#include "tests/client/live_server.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tutoring::testing {
namespace {

absl::Status LoadFixture(const std::string& database_url) {
  std::ifstream in(FixturePath());
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot read ", FixturePath()));
  std::ostringstream sql;
  sql << in.rdbuf();
  try {
    pqxx::connection connection(database_url);
    pqxx::work tx(connection);
    tx.exec(sql.str());
    tx.commit();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("loading the fixture: ", e.what()));
  }
  return absl::OkStatus();
}

// Polls grpc.health.v1.Health until "" is SERVING (the first database probe
// has succeeded).
absl::Status WaitUntilServing(const std::string& target) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    if (stub->Check(&context, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("server at ", target, " not SERVING after 10 s"));
}

}  // namespace

std::string FixturePath() {
  return absl::StrCat(BinaryPath("TUTORING_SOURCE_DIR"),
                      "/tests/client/fixture.sql");
}

absl::StatusOr<std::unique_ptr<LiveServer>> LiveServer::Start(
    absl::string_view prefix) {
  std::unique_ptr<LiveServer> live(new LiveServer());
  absl::StatusOr<std::unique_ptr<TestDatabase>> database =
      CreateMigratedDatabase(prefix);
  if (!database.ok()) return database.status();
  live->database_ = *std::move(database);
  if (absl::Status loaded = LoadFixture(live->database_->url()); !loaded.ok()) {
    return loaded;
  }

  absl::StatusOr<server::TimeZoneNames> zones =
      server::TimeZoneNames::LoadFromFile("/usr/share/zoneinfo/tzdata.zi");
  if (!zones.ok()) return zones.status();
  live->zones_.emplace(*std::move(zones));
  absl::StatusOr<std::string> key = server::PageTokenCodec::RandomKey();
  if (!key.ok()) return key.status();
  live->tokens_ = std::make_unique<server::PageTokenCodec>(*std::move(key));

  db::PoolOptions pool_options;
  pool_options.database_url = live->database_->url();
  pool_options.pool_size = 4;
  pool_options.max_overflow = 2;
  pool_options.application_name = "client-test-server";
  absl::StatusOr<std::unique_ptr<db::ConnectionPool>> pool =
      db::ConnectionPool::Create(
          db::PgRepository::ConfigurePool(pool_options, absl::Seconds(30)),
          live->clock_);
  if (!pool.ok()) return pool.status();
  live->pool_ = *std::move(pool);
  live->repository_ = std::make_unique<db::PgRepository>(*live->pool_);

  server::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.health.interval = absl::Milliseconds(100);
  options.shutdown_grace = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<server::TutoringServer>> server =
      server::TutoringServer::Start(options, *live->repository_, *live->tokens_,
                                    *live->zones_, live->clock_);
  if (!server.ok()) return server.status();
  live->server_ = *std::move(server);
  if (absl::Status serving = WaitUntilServing(live->target()); !serving.ok()) {
    return serving;
  }
  return live;
}

LiveServer::~LiveServer() {
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
  repository_.reset();
  if (pool_ != nullptr) pool_->Shutdown();
}

std::string LiveServer::target() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

}  // namespace tutoring::testing
