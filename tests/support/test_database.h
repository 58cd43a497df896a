// Databases for tests, on the private test cluster that scripts/test starts.
// The cluster's admin DSN comes from TUTORING_TEST_DATABASE_URL
// (postgresql://user@host:port/dbname); a test without it fails, it is never
// skipped.
#ifndef TUTORING_TESTS_SUPPORT_TEST_DATABASE_H_
#define TUTORING_TESTS_SUPPORT_TEST_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring::testing {

// The admin DSN of the test cluster. Aborts the test binary with a clear
// message when TUTORING_TEST_DATABASE_URL is unset.
std::string AdminDatabaseUrl();

// `url` with its database name replaced by `dbname`.
std::string WithDatabaseName(absl::string_view url, absl::string_view dbname);

// The migrations folder of the source tree (TUTORING_MIGRATIONS_DIR, set by
// CMake for every test).
std::string MigrationsDir();

// Path of a project binary, from the environment variable `env` (set by CMake
// for every test), e.g. BinaryPath("TUTORING_MIGRATE_BIN").
std::string BinaryPath(absl::string_view env);

// The database seeded once per test run by the e2e fixture
// (tests/e2e/prepare_e2e_db.sh): migrated, 100,000 users. Read-only for
// tests.
std::string E2eDatabaseUrl();

// The URL the service under test uses for `url` (a database of the test
// cluster): `url` itself, or, when TUTORING_TEST_TRANSACTION_POOLER names a
// PgBouncer in transaction mode in front of the test cluster
// (host:port, set by scripts/test's pooler pass), the same database through
// it. Tests observe the database (pg_stat_activity, ground truth) through
// `url` directly.
std::string ServerDatabaseUrl(absl::string_view url);

// Whether the service under test goes through that pooler.
bool ThroughTransactionPooler();

// A new, empty database that is dropped (with FORCE) when this object dies.
// Names are unique per process and call.
class TestDatabase {
 public:
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create(
      absl::string_view prefix);

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  ~TestDatabase();

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  TestDatabase(std::string name, std::string url);

  const std::string name_;
  const std::string url_;
};

// A new database with every migration of MigrationsDir() applied.
absl::StatusOr<std::unique_ptr<TestDatabase>> CreateMigratedDatabase(
    absl::string_view prefix);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_TEST_DATABASE_H_
