// The Repository over PostgreSQL, through the asynchronous connection pool
// (db/connection_pool.h). Every query is a named constant with $n
// parameters, prepared once per connection; the point lookups (GetUserRole,
// GetActivity of one user) also have a batch form, so the pool can answer
// many concurrent calls with one statement.
#ifndef TUTORING_DB_PG_REPOSITORY_H_
#define TUTORING_DB_PG_REPOSITORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/connection_pool.h"
#include "db/repository.h"

namespace tutoring::db {

// Default of the statement_timeout backstop (ConfigurePool).
inline constexpr absl::Duration kDefaultStatementTimeout = absl::Seconds(60);

// What sits between the service and PostgreSQL.
enum class DatabasePooler {
  // Nothing, or a pooler that gives each client connection its own server
  // session (PgBouncer's session mode): statements are prepared once per
  // connection and the session is set up with SETs.
  kNone,
  // A transaction-pooling PgBouncer: each transaction may run on another
  // server session, so no named prepared statements (unnamed ones instead)
  // and no session SETs. Read-only transactions and statement_timeout must
  // then come from the database role or the pooler (docs/SCALING.md):
  //   ALTER ROLE <service role> SET default_transaction_read_only = on;
  //   ALTER ROLE <service role> SET statement_timeout = '60s';
  kTransaction,
};

// Parses "none" / "session" (kNone) and "transaction"; INVALID_ARGUMENT
// otherwise.
absl::StatusOr<DatabasePooler> ParseDatabasePooler(absl::string_view text);

class PgRepository final : public Repository {
 public:
  // Adds what the repository's connections need to `options`: its
  // statements (the pool prepares them; Execute names them by index, so
  // `options.statements` must be empty), read-only transactions, and
  // `statement_timeout` as a backstop for statements whose cancel request
  // got lost (calls' own deadlines are enforced by the pool).
  static PoolOptions ConfigurePool(PoolOptions options,
                                   absl::Duration statement_timeout);
  // The same behind `pooler`: with kTransaction, unnamed statements and no
  // session setup (`statement_timeout` is then the role's business).
  static PoolOptions ConfigurePool(PoolOptions options,
                                   absl::Duration statement_timeout,
                                   DatabasePooler pooler);

  // The statements, in the order ConfigurePool registers them (for tests
  // that EXPLAIN them).
  static const std::vector<StatementSpec>& Statements();

  // `pool` (a ConnectionPool, or a ReplicaRouter over such pools) must be
  // configured by ConfigurePool and outlive this object.
  explicit PgRepository(StatementExecutor& pool) : pool_(pool) {}

  void ListActiveUsers(const ActiveUsersFilter& filter, const KeysetPage& page,
                       std::shared_ptr<CallContext> call,
                       Callback<std::vector<UserRow>> done) override;
  void ListUsersByRole(UserRole role, const KeysetPage& page,
                       std::shared_ptr<CallContext> call,
                       Callback<std::vector<UserRow>> done) override;
  void GetUserRole(int64_t user_id, std::shared_ptr<CallContext> call,
                   Callback<UserRoleRow> done) override;
  void ListExercises(const ExercisesFilter& filter, const KeysetPage& page,
                     std::shared_ptr<CallContext> call,
                     Callback<std::vector<ExerciseRow>> done) override;
  void GetActivity(std::vector<int64_t> user_ids, std::string time_zone,
                   absl::Time as_of, std::shared_ptr<CallContext> call,
                   Callback<std::vector<UserActivity>> done) override;
  void Ping(std::shared_ptr<CallContext> call,
            absl::AnyInvocable<void(absl::Status)> done) override;

 private:
  StatementExecutor& pool_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_PG_REPOSITORY_H_
