// Schema migrations: loading the numbered SQL files of a folder and applying
// or reverting them against a PostgreSQL database, with the applied ones
// recorded in the table schema_migrations.
//
// Files are named NNNN_name.up.sql / NNNN_name.down.sql (four digits, then a
// name of letters, digits and '_'). Versions run 1..N without gaps and each
// has both files. A file may start with marker lines, each exactly one of
//   -- tutoring:no-transaction
//       the file runs outside a transaction (needed for CREATE INDEX
//       CONCURRENTLY); every other file runs in one transaction together
//       with its bookkeeping row.
//   -- tutoring:backward-compatible
//       (up files) the migration only expands the schema: the previous
//       release's queries keep working on it, so an image whose folder ends
//       before this migration may still run against the database (Verify).
// The markers are read from the file's leading lines that start with
// "-- tutoring:", in any order; a line that is not exactly a marker is
// ignored. The backward-compatible marker of a down file means nothing.
#ifndef TUTORING_DB_MIGRATE_MIGRATOR_H_
#define TUTORING_DB_MIGRATE_MIGRATOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tutoring::db {

// First line that makes a migration file run outside a transaction.
inline constexpr absl::string_view kNoTransactionMarker =
    "-- tutoring:no-transaction";

// Marker line of an up file whose migration keeps the previous release's
// queries working (expand only: new tables, columns with defaults, indexes).
inline constexpr absl::string_view kBackwardCompatibleMarker =
    "-- tutoring:backward-compatible";

// Key of the session-level advisory lock (pg_try_advisory_lock(bigint)) that
// serializes runners on one database: the ASCII bytes of "tutoring".
inline constexpr int64_t kMigrationLockKey = 0x7475746F72696E67;

// One version: its two files, read into memory.
struct Migration {
  int version = 0;
  std::string name;  // "create_schema" for 0001_create_schema.up.sql
  std::string up_sql;
  std::string down_sql;
  std::string up_path;
  std::string down_path;
  std::string checksum;       // lowercase hex SHA-256 of the up file's bytes
  bool transactional = true;  // the up file lacks kNoTransactionMarker
  bool down_transactional = true;  // the down file lacks kNoTransactionMarker
  bool backward_compatible = false;  // the up file has kBackwardCompatibleMarker

  // "0001_create_schema": how progress lines and errors name the migration.
  std::string Label() const;
};

// Reads every migration of `dir`, ordered by version. Files not ending in
// ".sql" are ignored. Errors:
//   NOT_FOUND            `dir` does not exist, is not a folder, or holds no
//                        migration files
//   FAILED_PRECONDITION  a .sql file with a malformed name, a version without
//                        its up or down file, two names for one version, a gap
//                        in 1..N, or an unreadable file (the message names the
//                        file)
absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir);

// Where one version stands in the database compared with the folder.
enum class MigrationStatus {
  kApplied,      // recorded, and the file is unchanged
  kPending,      // in the folder, not recorded
  kChanged,      // recorded, but the up file's checksum or name differs
  kMissingFile,  // recorded, but the folder has no file for this version
};

struct MigrationState {
  int version = 0;
  std::string name;  // from the folder, or from schema_migrations if missing
  MigrationStatus status = MigrationStatus::kPending;
  std::optional<absl::Time> applied_at;  // set unless kPending
  // Recorded in schema_migrations when the version was applied (the up
  // file's kBackwardCompatibleMarker); false for pending versions and for
  // rows written before the column existed.
  bool backward_compatible = false;
};

// Which migrations Migrator::Down reverts.
struct DownTarget {
  enum class Kind { kSteps, kToVersion };

  // The `steps` most recently applied versions (highest first); steps >= 1.
  static DownTarget Steps(int steps) { return {Kind::kSteps, steps}; }
  // Every applied version above `version`; ToVersion(0) reverts everything.
  static DownTarget ToVersion(int version) {
    return {Kind::kToVersion, version};
  }

  Kind kind;
  int value;
};

struct MigratorOptions {
  // How long Up and Down wait for another runner to release the migration
  // lock before failing with DEADLINE_EXCEEDED. Default: 5 minutes.
  absl::Duration lock_timeout = absl::Minutes(5);

  // Pause between two attempts to take the lock (capped at the time left).
  // Default: 150 ms.
  absl::Duration lock_poll_interval = absl::Milliseconds(150);

  // libpq connect_timeout, added to the URL unless it sets one itself.
  // Rounded up to whole seconds, at least 2 (libpq's minimum).
  // Default: 10 seconds.
  absl::Duration connect_timeout = absl::Seconds(10);

  // Receives one line per applied or reverted migration, e.g.
  // "applied 0002_db_opt_indexes (12 ms)", and a line when there is nothing
  // to do. Called on the calling thread. Default: lines are dropped.
  std::function<void(absl::string_view)> progress;

  // What sits between the runner and PostgreSQL. The migration lock is a
  // session-level advisory lock, which a transaction pooler (PgBouncer's
  // transaction mode) would hand from one client's transaction to another's
  // session: Up and Down refuse to run through one (FAILED_PRECONDITION).
  //   kAuto         detect it before taking the lock (CheckDirectSession)
  //   kDirect       trust the caller: a direct or session-preserving path
  //   kTransaction  refuse at once
  enum class Pooler { kAuto, kDirect, kTransaction };
  Pooler pooler = Pooler::kAuto;
};

// Applies and reverts `migrations` on the database at `database_url`
// (postgresql://... or "key=value" form). Time comes from the Clock given to
// the constructor: the lock timeout, the pauses between attempts to take the
// lock, and the durations in progress lines.
//
// Every call opens its own connection and closes it before returning, so a
// Migrator may be used from several threads; calls that change the schema
// (Up, Down) are serialized across threads, processes and machines by the
// advisory lock kMigrationLockKey, held for the whole call. The lock is taken
// by polling pg_try_advisory_lock, never by waiting inside the server: a
// session waiting in pg_advisory_lock holds a snapshot, and CREATE INDEX
// CONCURRENTLY run by the lock holder would wait for it forever. After taking
// the lock the runner re-reads schema_migrations, so two runners started
// together apply every migration exactly once between them.
//
// Up, Down and Verify refuse to run (FAILED_PRECONDITION, naming the file)
// when an applied migration's up file has changed or is missing. One
// exception makes rollbacks work: a database *ahead* of the folder (versions
// above its last one applied, e.g. by the next release before a rollback) is
// accepted by Up and Verify when every such version was recorded as
// backward compatible; otherwise the message names the first one that is
// not. Down always refuses, since it cannot revert a version without its
// files.
//
// Transactional migrations are atomic: the SQL and the schema_migrations
// insert (Up) or delete (Down) commit together, so a failing file leaves the
// database as it was before that file (such a file must not contain its own
// BEGIN/COMMIT). Non-transactional files are split into
// statements (SplitSqlStatements) that run one by one in autocommit mode, and
// the bookkeeping row is written after the last one succeeds. A failure
// midway leaves the earlier statements' effects in place and the version
// unrecorded (or, for Down, still recorded), so the file runs again from its
// first statement next time: write such files to be re-runnable
// (CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX CONCURRENTLY IF
// EXISTS). A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that
// IF NOT EXISTS would keep; drop it by hand before re-running.
//
// Errors common to every call:
//   INVALID_ARGUMENT     the URL is malformed
//   UNAVAILABLE          the server cannot be reached
//   FAILED_PRECONDITION  an applied migration's file changed or is missing
//   from a failing file  the status pg_error.h gives the SQL error, with the
//                        message naming the file
class Migrator {
 public:
  // `migrations` must be what LoadMigrations returned (versions 1..N).
  // `clock` is borrowed and must outlive the Migrator.
  Migrator(std::string database_url, std::vector<Migration> migrations,
           const Clock& clock, MigratorOptions options = {});

  // Applies every pending migration with version <= `to_version` (all of
  // them when absent), in version order. Applied versions are never
  // reverted. INVALID_ARGUMENT if `to_version` is outside 0..N;
  // DEADLINE_EXCEEDED if the lock is not free within lock_timeout.
  absl::Status Up(std::optional<int> to_version) const;

  // Reverts applied migrations, highest version first. INVALID_ARGUMENT for
  // Steps(< 1) or ToVersion outside 0..N; OUT_OF_RANGE (nothing reverted) for
  // more steps than applied migrations; DEADLINE_EXCEEDED as for Up.
  absl::Status Down(DownTarget target) const;

  // Every version of the folder and of schema_migrations, ordered by
  // version. Read-only: takes no lock and creates nothing (a database without
  // schema_migrations has everything pending). Never fails for changed or
  // missing files; they are reported in the states.
  absl::StatusOr<std::vector<MigrationState>> GetStatus() const;

  // OK if every migration of the folder is applied and unchanged, and every
  // version applied beyond the folder's last one is recorded as backward
  // compatible. FAILED_PRECONDITION naming the changed file, the first newer
  // migration that is not backward compatible, or saying how many migrations
  // are pending. Reports through `progress` whether the database matches the
  // folder or is ahead of it. Read-only, like GetStatus: it needs only SELECT
  // on schema_migrations.
  absl::Status Verify() const;

 private:
  // Constant after construction.
  const std::string database_url_;
  const std::vector<Migration> migrations_;
  const Clock& clock_;
  const MigratorOptions options_;
};

// Loads `migrations_dir` and applies everything pending with default options
// and the real clock. For tests and tools that need a fully migrated
// database.
absl::Status MigrateUp(const std::string& database_url,
                       const std::string& migrations_dir);

}  // namespace tutoring::db

#endif  // TUTORING_DB_MIGRATE_MIGRATOR_H_
