#include "db/seed/seeder.h"

#include <algorithm>
#include <array>
#include <memory>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "db/pqxx/connect.h"
#include "db/pqxx/pqxx_status.h"
#include "db/seed/copy_writer.h"

namespace tutoring::db {
namespace {

// ---------------------------------------------------------------------------
// SQL

constexpr absl::string_view kMissingTables = R"sql(
SELECT string_agg(name, ', ' ORDER BY name)
FROM unnest(ARRAY['users', 'exercises', 'user_exercises']) AS t(name)
WHERE to_regclass(name) IS NULL)sql";

constexpr absl::string_view kNoStatementTimeout =
    "SET LOCAL statement_timeout = 0";
// Followed by the timeout in milliseconds.
constexpr absl::string_view kSetLockTimeout = "SET LOCAL lock_timeout = ";

constexpr absl::string_view kTruncate =
    "TRUNCATE users, exercises, user_exercises RESTART IDENTITY CASCADE";

// The foreign keys of the seeded tables: (table, name, definition).
constexpr absl::string_view kSelectForeignKeys = R"sql(
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE conrelid IN ('users'::regclass, 'exercises'::regclass,
                   'user_exercises'::regclass)
  AND contype = 'f'
ORDER BY 1, 2)sql";

// The indexes of the seeded tables that CREATE INDEX with
// pg_get_indexdef's text re-creates exactly: (name, definition). Left out:
// indexes of constraints (primary key, unique, exclusion) and indexes a
// foreign key depends on, invalid ones (a failed CREATE INDEX CONCURRENTLY:
// rebuilding would change that), and those with a comment, a tablespace of
// their own, a CLUSTER or REPLICA IDENTITY mark or per-column statistics
// targets, which the definition does not carry.
constexpr absl::string_view kSelectPlainIndexes = R"sql(
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid IN ('users'::regclass, 'exercises'::regclass,
                     'user_exercises'::regclass)
  AND x.indisvalid AND x.indisready AND x.indislive
  AND NOT x.indisclustered AND NOT x.indisreplident
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
  AND i.reltablespace = 0
  AND obj_description(i.oid, 'pg_class') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = i.oid AND a.attstattarget >= 0)
ORDER BY i.relname)sql";

constexpr absl::string_view kAnalyze =
    "ANALYZE users, exercises, user_exercises";

// $1 table, $2 highest id given out (0: none).
constexpr absl::string_view kSetSequence =
    "SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST($2, 1), $2 > 0)";

constexpr absl::string_view kVacuum = "VACUUM users, exercises, user_exercises";

// ---------------------------------------------------------------------------
// Loading.

// COPY text goes to the server in chunks of about this size.
constexpr size_t kChunkBytes = 1 << 20;

// pqxx::stream_to, the successor of tablewriter in libpqxx 6.4, only takes
// rows as tuples that it formats and escapes itself (its write_raw_line is
// private); tablewriter::write_raw_line sends our own COPY text as it is.
pqxx::tablewriter StartCopy(pqxx::work& tx, const std::string& table,
                            const std::vector<std::string>& columns) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return pqxx::tablewriter(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
}

// One COPY ... FROM STDIN, fed with rows in COPY text format. Must be
// completed with Finish() before the transaction runs another statement.
class CopyIn {
 public:
  CopyIn(pqxx::work& tx, const std::string& table,
         const std::vector<std::string>& columns)
      : tablewriter_(StartCopy(tx, table, columns)) {
    rows_.Reserve(kChunkBytes + 4096);
  }

  // Where to write the rows.
  CopyTextWriter& rows() { return rows_; }

  // Sends the rows written so far once they make a chunk. Call between rows.
  void MaybeSend() {
    if (rows_.size() >= kChunkBytes) Send();
  }

  void Finish() {
    Send();
    tablewriter_.complete();
  }

 private:
  void Send() {
    // write_raw_line sends the text and one final '\n' (it drops a trailing
    // one first), so a chunk of whole lines goes out unchanged.
    if (rows_.size() == 0) return;
    tablewriter_.write_raw_line(rows_.text());
    rows_.Clear();
  }

  pqxx::tablewriter tablewriter_;
  CopyTextWriter rows_;
};

void CopyExercises(pqxx::work& tx, const SeedDataset& dataset) {
  CopyIn copy(
      tx, "exercises",
      {"id", "title", "difficulty", "programming_language", "created_at"});
  CopyTextWriter& rows = copy.rows();
  dataset.ForEachExercise([&](const SeedExercise& exercise) {
    rows.AddInt(exercise.id);
    rows.AddText(exercise.title);
    rows.AddText(exercise.difficulty);
    rows.AddText(exercise.programming_language);
    rows.AddTimestamp(exercise.created_at);
    rows.EndRow();
    copy.MaybeSend();
  });
  copy.Finish();
}

void CopyUsers(pqxx::work& tx, const SeedDataset& dataset) {
  CopyIn copy(tx, "users",
              {"id", "email", "display_name", "role", "is_active",
               "onboarding_completed", "created_at"});
  CopyTextWriter& rows = copy.rows();
  dataset.ForEachUser([&](const SeedUser& user) {
    rows.AddInt(user.id);
    rows.AddText(user.email);
    rows.AddText(user.display_name);
    rows.AddText(user.role);
    rows.AddBool(user.is_active);
    rows.AddBool(user.onboarding_completed);
    rows.AddTimestamp(user.created_at);
    rows.EndRow();
    copy.MaybeSend();
  });
  copy.Finish();
}

// Returns the number of rows.
int64_t CopyUserExercises(pqxx::work& tx, const SeedDataset& dataset) {
  CopyIn copy(tx, "user_exercises",
              {"id", "user_id", "exercise_id", "status", "created_at"});
  CopyTextWriter& rows = copy.rows();
  const int64_t count =
      dataset.ForEachUserExercise([&](const SeedUserExercise& row) {
        rows.AddInt(row.id);
        rows.AddInt(row.user_id);
        rows.AddInt(row.exercise_id);
        rows.AddText(row.status);
        rows.AddTimestamp(row.created_at);
        rows.EndRow();
        copy.MaybeSend();
      });
  copy.Finish();
  return count;
}

absl::Status Load(pqxx::connection& connection, const SeedDataset& dataset,
                  absl::Duration lock_timeout, const Clock& clock,
                  SeedStats* stats) {
  const absl::Time start = clock.Now();
  const char* step = "checking the tables";
  try {
    {
      pqxx::nontransaction tx(connection);
      const pqxx::row missing = tx.exec1(std::string(kMissingTables));
      if (!missing[0].is_null()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database is not migrated (missing tables: ",
            missing[0].c_str(), "); run tutoring-migrate up first"));
      }
    }

    pqxx::work tx(connection);
    tx.exec0(std::string(kNoStatementTimeout));
    // PostgreSQL's limit; 0 would mean no timeout.
    constexpr int64_t kMaxLockTimeoutMs = 2147483647;
    tx.exec0(absl::StrCat(
        kSetLockTimeout,
        std::min(absl::ToInt64Milliseconds(lock_timeout), kMaxLockTimeoutMs)));
    step = "emptying the tables";
    tx.exec0(std::string(kTruncate));

    // Loading into bare tables, then building each index with one sort and
    // validating each foreign key with one join, is faster than maintaining
    // them row by row. Measured here: checking the foreign keys during the
    // COPY made it over four times slower (3M rows: 51 s instead of 11.5 s);
    // with the indexes kept, 1M users took 146 s instead of 104 s.
    step = "reading the foreign keys and indexes";
    std::vector<std::array<std::string, 3>> foreign_keys;
    for (const pqxx::row& row : tx.exec(std::string(kSelectForeignKeys))) {
      foreign_keys.push_back({row[0].as<std::string>(),
                              row[1].as<std::string>(),
                              row[2].as<std::string>()});
    }
    std::vector<std::pair<std::string, std::string>> indexes;
    for (const pqxx::row& row : tx.exec(std::string(kSelectPlainIndexes))) {
      indexes.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    }
    step = "dropping the foreign keys and indexes";
    for (const auto& [table, name, definition] : foreign_keys) {
      tx.exec0(absl::StrCat("ALTER TABLE ", table, " DROP CONSTRAINT ",
                            tx.quote_name(name)));
    }
    for (const auto& [name, definition] : indexes) {
      tx.exec0("DROP INDEX " + tx.quote_name(name));
    }

    step = "loading exercises";
    CopyExercises(tx, dataset);
    step = "loading users";
    CopyUsers(tx, dataset);
    step = "loading user_exercises";
    stats->user_exercises = CopyUserExercises(tx, dataset);
    stats->users = dataset.options().users;
    stats->exercises = dataset.options().exercises;
    const absl::Time index_start = clock.Now();
    stats->load_time = index_start - start;

    step = "re-creating the indexes";
    for (const auto& [name, definition] : indexes) tx.exec0(definition);
    const absl::Time analyze_start = clock.Now();
    stats->index_time = analyze_start - index_start;
    // Statistics first, so that the foreign keys' validation queries get
    // good plans.
    step = "analyzing";
    tx.exec0(std::string(kAnalyze));
    step = "re-creating the foreign keys";
    for (const auto& [table, name, definition] : foreign_keys) {
      tx.exec0(absl::StrCat("ALTER TABLE ", table, " ADD CONSTRAINT ",
                            tx.quote_name(name), " ", definition));
    }
    step = "setting the identity sequences";
    const std::pair<const char*, int64_t> sequences[] = {
        {"users", stats->users},
        {"exercises", stats->exercises},
        {"user_exercises", stats->user_exercises}};
    for (const auto& [table, last_id] : sequences) {
      tx.exec_params1(std::string(kSetSequence), table, last_id);
    }
    step = "committing";
    tx.commit();
    stats->keys_time = clock.Now() - analyze_start;
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException(step);
  }
}

absl::Status Vacuum(pqxx::connection& connection, const Clock& clock,
                    SeedStats* stats) {
  const absl::Time start = clock.Now();
  try {
    pqxx::nontransaction tx(connection);
    tx.exec0("SET statement_timeout = 0");
    tx.exec0(std::string(kVacuum));
  } catch (...) {
    return StatusFromCurrentException("vacuuming the seeded tables");
  }
  stats->vacuum_time = clock.Now() - start;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SeedStats> SeedDatabaseWithStats(const std::string& database_url,
                                                const SeedOptions& options,
                                                const Clock& clock) {
  const absl::Time start = clock.Now();
  if (options.lock_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lock_timeout must be >= 1ms, got ",
                     absl::FormatDuration(options.lock_timeout)));
  }
  SeedDatasetOptions dataset_options;
  dataset_options.users = options.users;
  dataset_options.seed = options.seed;
  dataset_options.exercises = options.exercises;
  dataset_options.end_date = options.end_date;
  ASSIGN_OR_RETURN(const SeedDataset dataset,
                   SeedDataset::Create(dataset_options));
  ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> connection,
                   ConnectPqxx(database_url, absl::Seconds(10)));
  // libpqxx prints server notices (and errors it cannot throw, e.g. from a
  // destructor) to stderr; a library reports through its Status only.
  const pqxx::quiet_errorhandler quiet(*connection);
  SeedStats stats;
  RETURN_IF_ERROR(
      Load(*connection, dataset, options.lock_timeout, clock, &stats));
  if (options.vacuum) RETURN_IF_ERROR(Vacuum(*connection, clock, &stats));
  stats.total_time = clock.Now() - start;
  return stats;
}

absl::Status SeedDatabase(const std::string& database_url,
                          const SeedOptions& options) {
  // The statistics are dropped, so their clock does not matter.
  const RealClock clock;
  return SeedDatabaseWithStats(database_url, options, clock).status();
}

}  // namespace tutoring::db
