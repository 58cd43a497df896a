#include "tests/client/live_server.h"

#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tutoring::testing {
namespace {

absl::Status LoadFixture(const std::string& database_url) {
  std::ifstream in(FixturePath());
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", FixturePath()));
  }
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

}  // namespace

std::string FixturePath() {
  // BinaryPath reads a variable CMake sets for every test, or aborts.
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

  HarnessOptions options;
  options.pool_size = 4;
  options.max_overflow = 2;
  options.application_name = "tutoring-client-test";
  live->harness_ = ServerHarness::Start(live->database_->url(), options);
  if (live->harness_ == nullptr) {
    return absl::UnavailableError("the server did not start (see above)");
  }
  if (!live->harness_->WaitForHealth(
          "", grpc::health::v1::HealthCheckResponse::SERVING,
          absl::Seconds(10))) {
    return absl::UnavailableError(
        absl::StrCat("server at ", live->target(), " not SERVING after 10 s"));
  }
  return live;
}

}  // namespace tutoring::testing
