#include "db/migrate/migrator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "db/migrate/sql_splitter.h"
#include "db/pqxx/connect.h"
#include "db/pqxx/pqxx_status.h"

namespace tutoring::db {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kUpSuffix = ".up.sql";
constexpr absl::string_view kDownSuffix = ".down.sql";

// Created only while holding the migration lock: two sessions running
// CREATE TABLE IF NOT EXISTS at the same moment can both pass the existence
// check and one then fails on pg_type's unique index.
constexpr absl::string_view kCreateBookkeepingTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  backward_compatible boolean NOT NULL DEFAULT false
))sql";

// Tables created before the column existed get it (under the lock) the next
// time Up or Down runs; their rows count as not backward compatible.
constexpr absl::string_view kBackwardCompatibleColumnExists = R"sql(
SELECT EXISTS (
  SELECT 1 FROM pg_attribute
  WHERE attrelid = 'schema_migrations'::regclass
    AND attname = 'backward_compatible' AND NOT attisdropped))sql";

constexpr absl::string_view kAddBackwardCompatibleColumn =
    "ALTER TABLE schema_migrations "
    "ADD COLUMN IF NOT EXISTS backward_compatible boolean NOT NULL "
    "DEFAULT false";

constexpr absl::string_view kBookkeepingTableExists =
    "SELECT to_regclass('schema_migrations') IS NOT NULL";

constexpr absl::string_view kSelectApplied = R"sql(
SELECT version, name, checksum,
       (extract(epoch FROM applied_at) * 1000000)::bigint AS applied_at_us,
       backward_compatible
FROM schema_migrations
ORDER BY version)sql";

// For a table without the column (read-only callers cannot add it).
constexpr absl::string_view kSelectAppliedWithoutColumn = R"sql(
SELECT version, name, checksum,
       (extract(epoch FROM applied_at) * 1000000)::bigint AS applied_at_us,
       false AS backward_compatible
FROM schema_migrations
ORDER BY version)sql";

constexpr absl::string_view kInsertApplied =
    "INSERT INTO schema_migrations (version, name, checksum, "
    "backward_compatible) VALUES ($1, $2, $3, $4)";

constexpr absl::string_view kDeleteApplied =
    "DELETE FROM schema_migrations WHERE version = $1";

constexpr absl::string_view kTryLock = "SELECT pg_try_advisory_lock($1)";

// Server NOTICEs (e.g. "relation already exists, skipping") would otherwise
// be printed to stderr by libpq's default notice processor.
std::string Label(int version, absl::string_view name) {
  return absl::StrFormat("%04d_%s", version, name);
}

absl::StatusOr<std::string> Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(),
                 nullptr) != 1) {
    return absl::InternalError("SHA-256 computation failed in OpenSSL");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

constexpr absl::string_view kMarkerPrefix = "-- tutoring:";

// The markers a migration file starts with.
struct Markers {
  bool no_transaction = false;
  bool backward_compatible = false;
};

// Reads the file's leading "-- tutoring:" lines. A line that is not exactly a
// known marker is not one (a misspelt backward-compatible marker makes a
// rollback refuse, the safe side; a misspelt no-transaction marker makes
// CREATE INDEX CONCURRENTLY fail loudly).
Markers ReadMarkers(absl::string_view sql) {
  Markers markers;
  while (absl::StartsWith(sql, kMarkerPrefix)) {
    const size_t end = sql.find('\n');
    absl::string_view line = sql.substr(0, end);
    sql = end == absl::string_view::npos ? absl::string_view()
                                         : sql.substr(end + 1);
    absl::ConsumeSuffix(&line, "\r");
    if (line == kNoTransactionMarker) markers.no_transaction = true;
    if (line == kBackwardCompatibleMarker) markers.backward_compatible = true;
  }
  return markers;
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  if (in.is_open()) contents << in.rdbuf();
  if (!in.is_open() || in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read migration file ", path.string()));
  }
  return contents.str();
}

// A migration version as its files are found, before checking completeness.
struct FoundFiles {
  std::string name;
  fs::path up;
  fs::path down;
};

// Parses "NNNN_name.up.sql" / "NNNN_name.down.sql". False for anything else.
bool ParseFileName(absl::string_view file_name, int* version, std::string* name,
                   bool* is_up) {
  absl::string_view stem = file_name;
  if (absl::ConsumeSuffix(&stem, kUpSuffix)) {
    *is_up = true;
  } else if (absl::ConsumeSuffix(&stem, kDownSuffix)) {
    *is_up = false;
  } else {
    return false;
  }
  if (stem.size() < 6 || stem[4] != '_') return false;
  const absl::string_view digits = stem.substr(0, 4);
  const absl::string_view rest = stem.substr(5);
  if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !std::all_of(rest.begin(), rest.end(),
                   [](char c) { return absl::ascii_isalnum(c) || c == '_'; })) {
    return false;
  }
  if (!absl::SimpleAtoi(digits, version)) return false;
  *name = std::string(rest);
  return true;
}

using Connection = std::unique_ptr<pqxx::connection>;

absl::StatusOr<Connection> Connect(const std::string& url,
                                   const MigratorOptions& options) {
  return ConnectPqxx(url, options.connect_timeout);
}

constexpr char kPoolerAdvice[] =
    "; the migration lock is a session-level advisory lock, which needs a "
    "session of its own: run tutoring-migrate against PostgreSQL directly "
    "(not through a transaction-pooling PgBouncer), or pass "
    "--database-pooler=none if this path keeps sessions";

// FAILED_PRECONDITION when `connection` does not reach a PostgreSQL backend
// directly. Over TCP, the backend's view of the client's port
// (inet_client_port()) must be this socket's own local port: any pooler or
// proxy in between connects from a port of its own. Over a Unix socket the
// peer process (SO_PEERCRED) must be a postgres process when /proc tells.
absl::Status CheckDirectSession(pqxx::connection& connection) {
  const int fd = connection.sock();
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    return absl::OkStatus();  // nothing to compare with
  }
  if (local.ss_family == AF_INET || local.ss_family == AF_INET6) {
    const int local_port =
        ntohs(local.ss_family == AF_INET
                  ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                  : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    try {
      pqxx::nontransaction tx(connection);
      const pqxx::field port =
          tx.exec1("SELECT inet_client_port()")[0];
      if (!port.is_null() && port.as<int>() == local_port) {
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "the database connection goes through a connection pooler or "
          "proxy (PostgreSQL sees client port ",
          port.is_null() ? std::string("none") : port.as<std::string>(),
          ", this connection's port is ", local_port, ")", kPoolerAdvice));
    } catch (...) {
      return StatusFromCurrentException("checking for a connection pooler");
    }
  }
  if (local.ss_family == AF_UNIX) {
    ucred peer{};
    socklen_t peer_length = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0) {
      return absl::OkStatus();
    }
    std::ifstream comm(absl::StrCat("/proc/", peer.pid, "/comm"));
    std::string name;
    if (!std::getline(comm, name)) return absl::OkStatus();  // cannot tell
    if (absl::StartsWith(name, "postgres") ||
        absl::StartsWith(name, "postmaster")) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the database socket is served by process '", name,
                     "' (pid ", peer.pid, "), not by PostgreSQL",
                     kPoolerAdvice));
  }
  return absl::OkStatus();
}

// Polls pg_try_advisory_lock instead of blocking in pg_advisory_lock: see the
// class comment (a waiting statement would deadlock with CREATE INDEX
// CONCURRENTLY run by the holder). The lock belongs to the session and is
// released when the connection closes at the end of the calling method.
absl::Status AcquireLock(pqxx::connection& connection, const Clock& clock,
                         const MigratorOptions& options) {
  switch (options.pooler) {
    case MigratorOptions::Pooler::kTransaction:
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to migrate through a transaction pooler "
                       "(--database-pooler=transaction)",
                       kPoolerAdvice));
    case MigratorOptions::Pooler::kAuto:
      RETURN_IF_ERROR(CheckDirectSession(connection));
      break;
    case MigratorOptions::Pooler::kDirect:
      break;
  }
  const absl::Time deadline = clock.Now() + options.lock_timeout;
  try {
    for (bool first_attempt = true;; first_attempt = false) {
      {
        pqxx::nontransaction tx(connection);
        if (tx.exec_params1(std::string(kTryLock), kMigrationLockKey)[0]
                .as<bool>()) {
          return absl::OkStatus();
        }
      }
      if (first_attempt && options.progress) {
        options.progress(
            "waiting for the migration lock held by another runner");
      }
      const absl::Time now = clock.Now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "another migration runner held the migration lock (advisory lock ",
            kMigrationLockKey, ") for longer than the lock timeout of ",
            absl::FormatDuration(options.lock_timeout)));
      }
      SleepUntil(clock, std::min(now + options.lock_poll_interval, deadline));
    }
  } catch (...) {
    return StatusFromCurrentException("taking the migration lock");
  }
}

struct AppliedRow {
  int version = 0;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
  bool backward_compatible = false;
};

// With `create`, creates schema_migrations if missing (call only under the
// lock); without, a missing table means nothing is applied.
absl::StatusOr<std::vector<AppliedRow>> ReadApplied(
    pqxx::connection& connection, bool create) {
  try {
    pqxx::nontransaction tx(connection);
    if (create) {
      tx.exec0(std::string(kCreateBookkeepingTable));
    } else if (!tx.exec1(std::string(kBookkeepingTableExists))[0].as<bool>()) {
      return std::vector<AppliedRow>{};
    }
    bool has_column =
        tx.exec1(std::string(kBackwardCompatibleColumnExists))[0].as<bool>();
    if (create && !has_column) {
      tx.exec0(std::string(kAddBackwardCompatibleColumn));
      has_column = true;
    }
    std::vector<AppliedRow> rows;
    for (const pqxx::row& row :
         tx.exec(std::string(has_column ? kSelectApplied
                                        : kSelectAppliedWithoutColumn))) {
      rows.push_back({row[0].as<int>(), row[1].as<std::string>(),
                      row[2].as<std::string>(),
                      absl::FromUnixMicros(row[3].as<int64_t>()),
                      row[4].as<bool>()});
    }
    return rows;
  } catch (...) {
    return StatusFromCurrentException("reading schema_migrations");
  }
}

// Runs one migration file and then `record` (the schema_migrations change).
// Transactional files and `record` commit together. Other files run statement
// by statement in autocommit mode, because a multi-statement query string is
// an implicit transaction; `record` then commits on its own.
absl::Status RunFile(
    pqxx::connection& connection, const std::string& sql, bool transactional,
    absl::string_view context,
    const std::function<void(pqxx::transaction_base&)>& record) {
  if (transactional) {
    try {
      pqxx::work tx(connection);
      tx.exec(sql);
      record(tx);
      tx.commit();
      return absl::OkStatus();
    } catch (...) {
      return StatusFromCurrentException(context);
    }
  }
  const std::vector<std::string> statements = SplitSqlStatements(sql);
  for (size_t i = 0; i < statements.size(); ++i) {
    try {
      pqxx::nontransaction tx(connection);
      tx.exec(statements[i]);
    } catch (...) {
      return StatusFromCurrentException(absl::StrCat(
          context, " (statement ", i + 1, " of ", statements.size(),
          ", earlier statements stay applied)"));
    }
  }
  try {
    pqxx::work tx(connection);
    record(tx);
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException(
        absl::StrCat(context, " (recording in schema_migrations)"));
  }
}

int64_t MillisecondsSince(const Clock& clock, absl::Time start) {
  return absl::ToInt64Milliseconds(clock.Now() - start);
}

// Compares the recorded rows with the folder.
std::vector<MigrationState> Compare(const std::vector<Migration>& migrations,
                                    const std::vector<AppliedRow>& applied) {
  std::map<int, MigrationState> states;
  for (const Migration& migration : migrations) {
    states[migration.version] = {migration.version, migration.name,
                                 MigrationStatus::kPending, std::nullopt};
  }
  for (const AppliedRow& row : applied) {
    MigrationState& state = states[row.version];
    state.applied_at = row.applied_at;
    state.backward_compatible = row.backward_compatible;
    // Versions run 1..N, so anything outside has no file.
    if (row.version < 1 || row.version > static_cast<int>(migrations.size())) {
      state.version = row.version;
      state.name = row.name;
      state.status = MigrationStatus::kMissingFile;
      continue;
    }
    const Migration& migration = migrations[row.version - 1];
    state.status =
        row.name == migration.name && row.checksum == migration.checksum
            ? MigrationStatus::kApplied
            : MigrationStatus::kChanged;
  }
  std::vector<MigrationState> result;
  for (auto& [version, state] : states) result.push_back(std::move(state));
  return result;
}

// Whether CheckAppliedFiles lets versions beyond the folder's last one pass
// when they were recorded as backward compatible.
enum class NewerVersions { kRefuse, kAcceptBackwardCompatible };

// True for a recorded version above the folder's last one.
bool IsAhead(const std::vector<Migration>& migrations,
             const MigrationState& state) {
  return state.status == MigrationStatus::kMissingFile &&
         state.version > static_cast<int>(migrations.size());
}

// FAILED_PRECONDITION for the first changed or missing applied file. With
// kAcceptBackwardCompatible, versions above the folder's last one pass when
// recorded as backward compatible; the message names the first that is not.
absl::Status CheckAppliedFiles(const std::vector<Migration>& migrations,
                               const std::vector<MigrationState>& states,
                               NewerVersions newer) {
  for (const MigrationState& state : states) {
    if (state.status == MigrationStatus::kChanged) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration file ", migrations[state.version - 1].up_path,
          " has changed since it was applied (its checksum or name differs "
          "from schema_migrations); applied migrations must not be edited"));
    }
    if (state.status != MigrationStatus::kMissingFile) continue;
    const std::string label = Label(state.version, state.name);
    if (!IsAhead(migrations, state)) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration ", label, " is applied but its file ", label,
                       kUpSuffix, " is not in the migrations folder"));
    }
    if (newer == NewerVersions::kRefuse) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", label, " is applied but its file ", label, kUpSuffix,
          " is not in the migrations folder, which ends at version ",
          migrations.size(), ": the database is ahead of this folder"));
    }
    if (!state.backward_compatible) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database is ahead of this migrations folder (last version ",
          migrations.size(), "): migration ", label, " (file ", label,
          kUpSuffix, ") is applied and not marked \"",
          kBackwardCompatibleMarker,
          "\", so this release may not work on that schema and it blocks the "
          "rollback; roll forward, or revert it with the newer release's "
          "tutoring-migrate down --to ",
          state.version - 1));
    }
  }
  return absl::OkStatus();
}

// "0004_a, 0005_b": the recorded versions above the folder's last one.
std::string AheadLabels(const std::vector<Migration>& migrations,
                        const std::vector<MigrationState>& states) {
  std::string labels;
  for (const MigrationState& state : states) {
    if (!IsAhead(migrations, state)) continue;
    absl::StrAppend(&labels, labels.empty() ? "" : ", ",
                    Label(state.version, state.name));
  }
  return labels;
}

}  // namespace

std::string Migration::Label() const {
  return ::tutoring::db::Label(version, name);
}

absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(
        absl::StrCat("migrations folder ", dir, " does not exist"));
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".sql") files.push_back(it->path());
  }
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot list migrations folder ",
                                            dir, ": ", error.message()));
  }
  std::sort(files.begin(), files.end());

  std::map<int, FoundFiles> found;
  for (const fs::path& path : files) {
    int version = 0;
    std::string name;
    bool is_up = false;
    if (!ParseFileName(path.filename().string(), &version, &name, &is_up) ||
        version == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unexpected file name ", path.string(),
          ": expected NNNN_name.up.sql or NNNN_name.down.sql with NNNN >= "
          "0001 and a name of letters, digits and '_'"));
    }
    FoundFiles& entry = found[version];
    if (entry.name.empty()) entry.name = name;
    if (entry.name != name) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration version ", version, " has two names: ", path.string(),
          " and ", Label(version, entry.name)));
    }
    (is_up ? entry.up : entry.down) = path;
  }
  if (found.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no migration files (NNNN_name.up.sql) in folder ", dir));
  }

  std::vector<Migration> migrations;
  for (const auto& [version, entry] : found) {
    const int expected = static_cast<int>(migrations.size()) + 1;
    if (version != expected) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "migration version %04d is missing in %s: the next file is %s "
          "(versions must run 1..N without gaps)",
          expected, dir, Label(version, entry.name)));
    }
    const std::string label = Label(version, entry.name);
    for (const auto& [path, suffix] :
         {std::pair(entry.up, kUpSuffix), std::pair(entry.down, kDownSuffix)}) {
      if (path.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration file ", (fs::path(dir) / label).string(), suffix,
            " is missing: every migration needs an up and a down file"));
      }
    }
    Migration migration;
    migration.version = version;
    migration.name = entry.name;
    migration.up_path = entry.up.string();
    migration.down_path = entry.down.string();
    ASSIGN_OR_RETURN(migration.up_sql, ReadFile(entry.up));
    ASSIGN_OR_RETURN(migration.down_sql, ReadFile(entry.down));
    ASSIGN_OR_RETURN(migration.checksum, Sha256Hex(migration.up_sql));
    const Markers up_markers = ReadMarkers(migration.up_sql);
    const Markers down_markers = ReadMarkers(migration.down_sql);
    migration.transactional = !up_markers.no_transaction;
    migration.down_transactional = !down_markers.no_transaction;
    migration.backward_compatible = up_markers.backward_compatible;
    migrations.push_back(std::move(migration));
  }
  return migrations;
}

Migrator::Migrator(std::string database_url, std::vector<Migration> migrations,
                   const Clock& clock, MigratorOptions options)
    : database_url_(std::move(database_url)),
      migrations_(std::move(migrations)),
      clock_(clock),
      options_(std::move(options)) {}

absl::Status Migrator::Up(std::optional<int> to_version) const {
  const int last = static_cast<int>(migrations_.size());
  const int target = to_version.value_or(last);
  if (target < 0 || target > last) {
    return absl::InvalidArgumentError(
        absl::StrCat("target version must be in 0..", last, ", got ", target));
  }
  ASSIGN_OR_RETURN(Connection connection, Connect(database_url_, options_));
  RETURN_IF_ERROR(AcquireLock(*connection, clock_, options_));
  ASSIGN_OR_RETURN(const std::vector<AppliedRow> applied,
                   ReadApplied(*connection, /*create=*/true));
  const std::vector<MigrationState> states = Compare(migrations_, applied);
  RETURN_IF_ERROR(CheckAppliedFiles(migrations_, states,
                                    NewerVersions::kAcceptBackwardCompatible));

  int applied_now = 0;
  for (const MigrationState& state : states) {
    if (state.status != MigrationStatus::kPending || state.version > target) {
      continue;
    }
    const Migration& migration = migrations_[state.version - 1];
    const absl::Time start = clock_.Now();
    RETURN_IF_ERROR(RunFile(
        *connection, migration.up_sql, migration.transactional,
        absl::StrCat("applying ", migration.up_path),
        [&migration](pqxx::transaction_base& tx) {
          tx.exec_params0(std::string(kInsertApplied), migration.version,
                          migration.name, migration.checksum,
                          migration.backward_compatible);
        }));
    ++applied_now;
    if (options_.progress) {
      options_.progress(absl::StrCat("applied ", migration.Label(), " (",
                                     MillisecondsSince(clock_, start), " ms)"));
    }
  }
  if (applied_now == 0 && options_.progress) {
    const std::string ahead = AheadLabels(migrations_, states);
    options_.progress(absl::StrCat(
        "nothing to apply (target version ", target, ")",
        ahead.empty() ? ""
                      : absl::StrCat("; the database is ahead of this folder "
                                     "by backward-compatible ",
                                     ahead)));
  }
  return absl::OkStatus();
}

absl::Status Migrator::Down(DownTarget target) const {
  const int last = static_cast<int>(migrations_.size());
  if (target.kind == DownTarget::Kind::kSteps && target.value < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("steps must be >= 1, got ", target.value));
  }
  if (target.kind == DownTarget::Kind::kToVersion &&
      (target.value < 0 || target.value > last)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target version must be in 0..", last, ", got ", target.value));
  }
  ASSIGN_OR_RETURN(Connection connection, Connect(database_url_, options_));
  RETURN_IF_ERROR(AcquireLock(*connection, clock_, options_));
  ASSIGN_OR_RETURN(const std::vector<AppliedRow> applied,
                   ReadApplied(*connection, /*create=*/true));
  RETURN_IF_ERROR(CheckAppliedFiles(
      migrations_, Compare(migrations_, applied), NewerVersions::kRefuse));

  // `applied` is ordered by version; revert from the top.
  std::vector<int> to_revert;
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
    if (target.kind == DownTarget::Kind::kToVersion
            ? it->version > target.value
            : static_cast<int>(to_revert.size()) < target.value) {
      to_revert.push_back(it->version);
    }
  }
  if (target.kind == DownTarget::Kind::kSteps &&
      static_cast<int>(to_revert.size()) < target.value) {
    return absl::OutOfRangeError(
        absl::StrCat("cannot revert ", target.value,
                     " migrations: the number applied is ", to_revert.size()));
  }

  for (const int version : to_revert) {
    const Migration& migration = migrations_[version - 1];
    const absl::Time start = clock_.Now();
    RETURN_IF_ERROR(
        RunFile(*connection, migration.down_sql, migration.down_transactional,
                absl::StrCat("reverting ", migration.down_path),
                [version](pqxx::transaction_base& tx) {
                  tx.exec_params0(std::string(kDeleteApplied), version);
                }));
    if (options_.progress) {
      options_.progress(absl::StrCat("reverted ", migration.Label(), " (",
                                     MillisecondsSince(clock_, start), " ms)"));
    }
  }
  if (to_revert.empty() && options_.progress) {
    options_.progress("nothing to revert");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MigrationState>> Migrator::GetStatus() const {
  ASSIGN_OR_RETURN(Connection connection, Connect(database_url_, options_));
  ASSIGN_OR_RETURN(const std::vector<AppliedRow> applied,
                   ReadApplied(*connection, /*create=*/false));
  return Compare(migrations_, applied);
}

absl::Status Migrator::Verify() const {
  ASSIGN_OR_RETURN(const std::vector<MigrationState> states, GetStatus());
  RETURN_IF_ERROR(CheckAppliedFiles(migrations_, states,
                                    NewerVersions::kAcceptBackwardCompatible));
  const auto pending = std::count_if(
      states.begin(), states.end(), [](const MigrationState& state) {
        return state.status == MigrationStatus::kPending;
      });
  if (pending > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        pending, " of ", states.size(),
        " migrations are pending: the database does not match the folder"));
  }
  if (options_.progress) {
    const std::string ahead = AheadLabels(migrations_, states);
    options_.progress(
        ahead.empty()
            ? std::string("database matches the migrations folder")
            : absl::StrCat("database is ahead of the migrations folder by "
                           "backward-compatible ",
                           ahead, ": accepted"));
  }
  return absl::OkStatus();
}

absl::Status MigrateUp(const std::string& database_url,
                       const std::string& migrations_dir) {
  ASSIGN_OR_RETURN(std::vector<Migration> migrations,
                   LoadMigrations(migrations_dir));
  const RealClock clock;
  return Migrator(database_url, std::move(migrations), clock).Up(std::nullopt);
}

}  // namespace tutoring::db
