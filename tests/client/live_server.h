// A real tutoring server for client tests: a fresh migrated database holding
// the rows of tests/client/fixture.sql, served by the e2e harness
// (tests/e2e/server_harness.h) on 127.0.0.1 on a port the system picks.
#ifndef TUTORING_TESTS_CLIENT_LIVE_SERVER_H_
#define TUTORING_TESTS_CLIENT_LIVE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

class LiveServer {
 public:
  // Creates the database (named after `prefix`), loads the fixture, starts
  // the server and waits (up to 10 s) until its health check reports
  // SERVING. The failing step's error otherwise.
  static absl::StatusOr<std::unique_ptr<LiveServer>> Start(
      absl::string_view prefix);

  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;
  // Stops the server, then drops the database.
  ~LiveServer() = default;

  // "127.0.0.1:<port>".
  std::string target() const { return harness_->target(); }
  // The database the server reads, for ground-truth queries.
  const std::string& database_url() const { return database_->url(); }

 private:
  LiveServer() = default;

  // Destroyed bottom-up: the server before its database.
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<ServerHarness> harness_;
};

// The fixture's path: $TUTORING_SOURCE_DIR/tests/client/fixture.sql.
std::string FixturePath();

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_CLIENT_LIVE_SERVER_H_
