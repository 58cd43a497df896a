#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "db/migrate/migrator.h"

namespace tutoring::testing {
namespace {

std::string RequiredEnv(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr,
                 "%.*s is not set: run the suite through scripts/test (or "
                 "ctest with the variables it exports)\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  return value;
}

}  // namespace

std::string AdminDatabaseUrl() {
  return RequiredEnv("TUTORING_TEST_DATABASE_URL");
}

std::string WithDatabaseName(absl::string_view url, absl::string_view dbname) {
  // postgresql://user@host:port/dbname?params
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == url.npos ? 0 : scheme + 3);
  if (slash == url.npos) return absl::StrCat(url, "/", dbname);
  const size_t query = url.find('?', slash);
  return absl::StrCat(url.substr(0, slash + 1), dbname,
                      query == url.npos ? "" : url.substr(query));
}

bool ThroughTransactionPooler() {
  const char* pooler = std::getenv("TUTORING_TEST_TRANSACTION_POOLER");
  return pooler != nullptr && *pooler != '\0';
}

namespace {

// postgresql://user@host:port/dbname?params, split around host:port.
struct UrlParts {
  std::string before;     // "postgresql://user@"
  std::string host_port;  // "host:port"
  std::string after;      // "/dbname?params"
};

UrlParts SplitUrl(absl::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == url.npos ? 0 : scheme + 3;
  size_t slash = url.find('/', start);
  if (slash == url.npos) slash = url.size();
  const size_t at = url.rfind('@', slash);
  const size_t host = at == url.npos || at < start ? start : at + 1;
  return {std::string(url.substr(0, host)),
          std::string(url.substr(host, slash - host)),
          std::string(url.substr(slash))};
}

}  // namespace

std::string ServerDatabaseUrl(absl::string_view url) {
  if (!ThroughTransactionPooler()) return std::string(url);
  // Only databases of the test cluster: the pooler stands in front of it,
  // not in front of a test's private cluster.
  UrlParts parts = SplitUrl(url);
  if (parts.host_port != SplitUrl(AdminDatabaseUrl()).host_port) {
    return std::string(url);
  }
  return absl::StrCat(parts.before,
                      std::getenv("TUTORING_TEST_TRANSACTION_POOLER"),
                      parts.after);
}

std::string MigrationsDir() { return RequiredEnv("TUTORING_MIGRATIONS_DIR"); }

std::string BinaryPath(absl::string_view env) { return RequiredEnv(env); }

std::string E2eDatabaseUrl() {
  return WithDatabaseName(AdminDatabaseUrl(), "tutoring_e2e");
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(
    absl::string_view prefix) {
  static std::atomic<int> counter{0};
  const std::string name =
      absl::StrCat("t_", prefix, "_", getpid(), "_", counter.fetch_add(1));
  try {
    pqxx::connection admin(AdminDatabaseUrl());
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name) +
             " WITH (FORCE)");
    tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("creating test database ", name, ": ", e.what()));
  }
  return std::unique_ptr<TestDatabase>(
      new TestDatabase(name, WithDatabaseName(AdminDatabaseUrl(), name)));
}

TestDatabase::TestDatabase(std::string name, std::string url)
    : name_(std::move(name)), url_(std::move(url)) {}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(AdminDatabaseUrl());
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) +
             " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dropping test database %s: %s\n", name_.c_str(),
                 e.what());
  }
}

absl::StatusOr<std::unique_ptr<TestDatabase>> CreateMigratedDatabase(
    absl::string_view prefix) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      TestDatabase::Create(prefix);
  if (!db.ok()) return db.status();
  absl::Status migrated = db::MigrateUp((*db)->url(), MigrationsDir());
  if (!migrated.ok()) return migrated;
  return db;
}

}  // namespace tutoring::testing
