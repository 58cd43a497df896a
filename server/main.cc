// tutoring-server: serves tutoring.v1.TutoringService over gRPC from a
// PostgreSQL database. The only place that reads flags and environment.
#include <grpc/support/log.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/command_line.h"
#include "db/connection_pool.h"
#include "db/pg_repository.h"
#include "db/postgres/connection_string.h"
#include "db/replica_router.h"
#include "server/page_token.h"
#include "server/server.h"
#include "server/time_zones.h"

ABSL_FLAG(std::string, listen, tutoring::server::ServerOptions().listen_address,
          "host:port to serve gRPC on (env LISTEN_ADDRESS); port 0 picks one");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection string, URI or key=value (env DATABASE_URL)");
ABSL_FLAG(int, database_pool_size, tutoring::db::PoolOptions().pool_size,
          "connections kept open (env DATABASE_POOL_SIZE); size the sum over "
          "replicas to about 2 x database cores + disks, see "
          "db/connection_pool.h");
ABSL_FLAG(int, database_max_overflow, tutoring::db::PoolOptions().max_overflow,
          "extra connections opened while all pooled ones are busy, closed "
          "after --database-overflow-idle (env DATABASE_MAX_OVERFLOW)");
ABSL_FLAG(int, database_io_threads, tutoring::db::PoolOptions().io_threads,
          "event-loop threads driving the database connections; 0 means one "
          "per CPU core (env DATABASE_IO_THREADS)");
ABSL_FLAG(int, database_pipeline_depth,
          tutoring::db::PoolOptions().pipeline_depth,
          "statements in flight on one connection at most (libpq pipeline "
          "mode) (env DATABASE_PIPELINE_DEPTH)");
ABSL_FLAG(int, database_max_batch, tutoring::db::PoolOptions().max_batch,
          "concurrent point lookups (GetUserRole, GetStreak) one coalesced "
          "statement answers at most (env DATABASE_MAX_BATCH)");
ABSL_FLAG(absl::Duration, database_overflow_idle,
          tutoring::db::PoolOptions().overflow_idle_timeout,
          "idle time after which an overflow connection closes "
          "(env DATABASE_OVERFLOW_IDLE)");
ABSL_FLAG(absl::Duration, database_acquire_timeout,
          tutoring::db::PoolOptions().acquire_timeout,
          "longest a call waits for a free connection before "
          "RESOURCE_EXHAUSTED (env DATABASE_ACQUIRE_TIMEOUT)");
ABSL_FLAG(int, database_max_waiting, tutoring::db::PoolOptions().max_waiting,
          "calls allowed to wait for a connection; more get "
          "RESOURCE_EXHAUSTED at once (env DATABASE_MAX_WAITING)");
ABSL_FLAG(absl::Duration, database_max_lifetime,
          tutoring::db::PoolOptions().max_connection_lifetime,
          "connections older than this are replaced "
          "(env DATABASE_MAX_CONNECTION_LIFETIME)");
ABSL_FLAG(absl::Duration, database_connect_timeout,
          tutoring::db::PoolOptions().connect_timeout,
          "timeout of one connection attempt (env DATABASE_CONNECT_TIMEOUT)");
ABSL_FLAG(absl::Duration, statement_timeout,
          tutoring::db::kDefaultStatementTimeout,
          "PostgreSQL statement_timeout, a backstop behind each call's own "
          "deadline (env DATABASE_STATEMENT_TIMEOUT)");
ABSL_FLAG(std::string, database_pooler, "none",
          "what sits between the server and PostgreSQL: none, session or "
          "transaction (a transaction-pooling PgBouncer: unnamed statements, "
          "no session SETs; set statement_timeout and "
          "default_transaction_read_only on the role, docs/SCALING.md) "
          "(env DATABASE_POOLER)");
ABSL_FLAG(std::vector<std::string>, database_replica_url, {},
          "a streaming replica serving reads (repeatable; env "
          "DATABASE_REPLICA_URLS, comma-separated); the primary "
          "(--database-url) serves when no replica is usable");
ABSL_FLAG(absl::Duration, replica_max_lag,
          tutoring::db::ReplicaRouterOptions().max_lag,
          "a replica whose replay lag exceeds this serves no reads until it "
          "catches up (env DATABASE_REPLICA_MAX_LAG)");
ABSL_FLAG(absl::Duration, replica_check_interval,
          tutoring::db::ReplicaRouterOptions().check_interval,
          "time between health probes of each replica "
          "(env DATABASE_REPLICA_CHECK_INTERVAL)");
ABSL_FLAG(std::string, grpc_api, "async",
          "gRPC server API carrying the calls: async (completion queues, one "
          "thread per queue) or callback (env GRPC_API)");
ABSL_FLAG(int, grpc_threads, tutoring::server::ServerOptions().grpc_threads,
          "async API: completion-queue threads; 0 means one per CPU core "
          "(env GRPC_THREADS)");
ABSL_FLAG(absl::Duration, default_deadline,
          tutoring::server::GrpcServiceOptions().default_deadline,
          "deadline for calls that arrive without one (env DEFAULT_DEADLINE)");
ABSL_FLAG(absl::Duration, health_interval,
          tutoring::server::HealthOptions().interval,
          "time between database health probes (env HEALTH_CHECK_INTERVAL)");
ABSL_FLAG(absl::Duration, health_timeout,
          tutoring::server::HealthOptions().timeout,
          "a probe slower than this marks the service NOT_SERVING "
          "(env HEALTH_CHECK_TIMEOUT)");
ABSL_FLAG(absl::Duration, drain_delay,
          tutoring::server::ServerOptions().drain_delay,
          "on SIGTERM, report NOT_SERVING this long before closing the "
          "listener (env SHUTDOWN_DRAIN_DELAY)");
ABSL_FLAG(absl::Duration, shutdown_grace,
          tutoring::server::ServerOptions().shutdown_grace,
          "on SIGTERM, time in-flight calls get to finish "
          "(env SHUTDOWN_GRACE_PERIOD)");
ABSL_FLAG(std::string, page_token_key, "",
          "secret for signing page tokens (env PAGE_TOKEN_KEY); when empty a "
          "random key per process is used and tokens do not survive a "
          "restart or move between replicas");
ABSL_FLAG(std::string, tzdata, "/usr/share/zoneinfo/tzdata.zi",
          "tzdata.zi file listing the accepted IANA time zone names "
          "(env TZDATA_FILE)");

namespace {

constexpr tutoring::FlagFromEnv kEnvironment[] = {
    {"listen", "LISTEN_ADDRESS"},
    {"database_url", "DATABASE_URL"},
    {"database_pool_size", "DATABASE_POOL_SIZE"},
    {"database_max_overflow", "DATABASE_MAX_OVERFLOW"},
    {"database_io_threads", "DATABASE_IO_THREADS"},
    {"database_pipeline_depth", "DATABASE_PIPELINE_DEPTH"},
    {"database_max_batch", "DATABASE_MAX_BATCH"},
    {"database_overflow_idle", "DATABASE_OVERFLOW_IDLE"},
    {"database_acquire_timeout", "DATABASE_ACQUIRE_TIMEOUT"},
    {"database_max_waiting", "DATABASE_MAX_WAITING"},
    {"database_max_lifetime", "DATABASE_MAX_CONNECTION_LIFETIME"},
    {"database_connect_timeout", "DATABASE_CONNECT_TIMEOUT"},
    {"statement_timeout", "DATABASE_STATEMENT_TIMEOUT"},
    {"database_pooler", "DATABASE_POOLER"},
    {"database_replica_url", "DATABASE_REPLICA_URLS"},
    {"replica_max_lag", "DATABASE_REPLICA_MAX_LAG"},
    {"replica_check_interval", "DATABASE_REPLICA_CHECK_INTERVAL"},
    {"default_deadline", "DEFAULT_DEADLINE"},
    {"grpc_api", "GRPC_API"},
    {"grpc_threads", "GRPC_THREADS"},
    {"health_interval", "HEALTH_CHECK_INTERVAL"},
    {"health_timeout", "HEALTH_CHECK_TIMEOUT"},
    {"drain_delay", "SHUTDOWN_DRAIN_DELAY"},
    {"shutdown_grace", "SHUTDOWN_GRACE_PERIOD"},
    {"page_token_key", "PAGE_TOKEN_KEY"},
    {"tzdata", "TZDATA_FILE"},
};

// gRPC's own log lines, through the server's logger: one line each, in the
// same format.
void LogFromGrpc(gpr_log_func_args* args) {
  const std::string message = tutoring::OneLine(args->message);
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR:
      spdlog::error("grpc: {} ({}:{})", message, args->file, args->line);
      break;
    case GPR_LOG_SEVERITY_INFO:
      spdlog::info("grpc: {}", message);
      break;
    default:
      spdlog::debug("grpc: {}", message);
      break;
  }
}

// Startup failures: a bad flag value is a usage error (exit 64, one line);
// anything else is logged and exits 1.
int Fail(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    tutoring::ExitUsageError(status.message());
  }
  spdlog::critical("tutoring-server: {}", tutoring::OneLine(status.message()));
  return 1;
}

// Checks the flags whose values the option structs cannot judge alone.
void CheckFlags() {
  using tutoring::ExitIfUsageError;
  using tutoring::RequireAtLeast;
  using tutoring::RequireNonNegative;
  using tutoring::RequirePositive;
  ExitIfUsageError(RequireAtLeast("database-pool-size",
                                  absl::GetFlag(FLAGS_database_pool_size), 1));
  ExitIfUsageError(RequireAtLeast(
      "database-max-overflow", absl::GetFlag(FLAGS_database_max_overflow), 0));
  ExitIfUsageError(RequireAtLeast(
      "database-max-waiting", absl::GetFlag(FLAGS_database_max_waiting), 0));
  ExitIfUsageError(RequireAtLeast("database-io-threads",
                                  absl::GetFlag(FLAGS_database_io_threads), 0));
  ExitIfUsageError(RequireAtLeast("database-pipeline-depth",
                                  absl::GetFlag(FLAGS_database_pipeline_depth),
                                  1));
  ExitIfUsageError(RequireAtLeast("database-max-batch",
                                  absl::GetFlag(FLAGS_database_max_batch), 1));
  ExitIfUsageError(RequirePositive(
      "database-overflow-idle", absl::GetFlag(FLAGS_database_overflow_idle)));
  ExitIfUsageError(
      RequirePositive("database-acquire-timeout",
                      absl::GetFlag(FLAGS_database_acquire_timeout)));
  ExitIfUsageError(RequirePositive("database-max-lifetime",
                                   absl::GetFlag(FLAGS_database_max_lifetime)));
  ExitIfUsageError(
      RequirePositive("database-connect-timeout",
                      absl::GetFlag(FLAGS_database_connect_timeout)));
  ExitIfUsageError(RequirePositive("statement-timeout",
                                   absl::GetFlag(FLAGS_statement_timeout)));
  ExitIfUsageError(
      tutoring::db::ParseDatabasePooler(absl::GetFlag(FLAGS_database_pooler))
          .status());
  ExitIfUsageError(RequireNonNegative("replica-max-lag",
                                      absl::GetFlag(FLAGS_replica_max_lag)));
  ExitIfUsageError(RequirePositive(
      "replica-check-interval", absl::GetFlag(FLAGS_replica_check_interval)));
  const std::string api = absl::GetFlag(FLAGS_grpc_api);
  if (api != "async" && api != "callback") {
    tutoring::ExitUsageError(absl::StrCat(
        "--grpc-api must be async or callback, got \"", api, "\""));
  }
  ExitIfUsageError(
      RequireAtLeast("grpc-threads", absl::GetFlag(FLAGS_grpc_threads), 0));
  ExitIfUsageError(RequirePositive("default-deadline",
                                   absl::GetFlag(FLAGS_default_deadline)));
  ExitIfUsageError(
      RequirePositive("health-interval", absl::GetFlag(FLAGS_health_interval)));
  ExitIfUsageError(
      RequirePositive("health-timeout", absl::GetFlag(FLAGS_health_timeout)));
  ExitIfUsageError(
      RequireNonNegative("drain-delay", absl::GetFlag(FLAGS_drain_delay)));
  ExitIfUsageError(RequireNonNegative("shutdown-grace",
                                      absl::GetFlag(FLAGS_shutdown_grace)));
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only the waiter below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles,
  // which cost about 3% of the server's CPU (docs/PERFORMANCE.md); the
  // tests run with it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const std::vector<std::string> args =
      tutoring::ParseCommandLine(
          argc, argv,
          "Serves tutoring.v1.TutoringService from PostgreSQL.\n"
          "Usage: tutoring-server [--listen=host:port] [--database-url=DSN] "
          "...\n"
          "Every flag can also come from the environment variable named in its "
          "help; the command line wins.",
          kEnvironment)
          .positional;
  // Logs go to stderr (stdout stays free for tools that wrap the server).
  spdlog::set_default_logger(spdlog::stderr_color_mt("tutoring-server"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                      spdlog::pattern_time_type::utc);
  gpr_set_log_function(&LogFromGrpc);
  if (!args.empty()) {
    tutoring::ExitUsageError(
        absl::StrCat("unexpected argument '", args[0], "'"));
  }
  CheckFlags();

  tutoring::RealClock clock;

  absl::StatusOr<tutoring::server::TimeZoneNames> zones =
      tutoring::server::TimeZoneNames::LoadFromFile(
          absl::GetFlag(FLAGS_tzdata));
  if (!zones.ok()) return Fail(zones.status());

  std::string token_key = absl::GetFlag(FLAGS_page_token_key);
  const bool random_token_key = token_key.empty();
  if (random_token_key) {
    absl::StatusOr<std::string> key =
        tutoring::server::PageTokenCodec::RandomKey();
    if (!key.ok()) return Fail(key.status());
    token_key = *std::move(key);
  }
  const tutoring::server::PageTokenCodec tokens(token_key);

  tutoring::db::PoolOptions pool_options;
  pool_options.database_url = absl::GetFlag(FLAGS_database_url);
  pool_options.pool_size = absl::GetFlag(FLAGS_database_pool_size);
  pool_options.max_overflow = absl::GetFlag(FLAGS_database_max_overflow);
  pool_options.io_threads = absl::GetFlag(FLAGS_database_io_threads);
  pool_options.pipeline_depth = absl::GetFlag(FLAGS_database_pipeline_depth);
  pool_options.max_batch = absl::GetFlag(FLAGS_database_max_batch);
  pool_options.overflow_idle_timeout =
      absl::GetFlag(FLAGS_database_overflow_idle);
  pool_options.acquire_timeout = absl::GetFlag(FLAGS_database_acquire_timeout);
  pool_options.max_waiting = absl::GetFlag(FLAGS_database_max_waiting);
  pool_options.max_connection_lifetime =
      absl::GetFlag(FLAGS_database_max_lifetime);
  pool_options.connect_timeout = absl::GetFlag(FLAGS_database_connect_timeout);
  pool_options.application_name = "tutoring-server";
  tutoring::db::ReplicaRouterOptions router_options;
  router_options.max_lag = absl::GetFlag(FLAGS_replica_max_lag);
  router_options.check_interval = absl::GetFlag(FLAGS_replica_check_interval);
  const tutoring::db::DatabasePooler pooler =
      *tutoring::db::ParseDatabasePooler(absl::GetFlag(FLAGS_database_pooler));
  // The primary's pool, and one per replica (db/replica_router.h).
  absl::StatusOr<std::unique_ptr<tutoring::db::ReplicaRouter>> pool =
      tutoring::db::ReplicaRouter::Create(
          tutoring::db::PgRepository::ConfigurePool(
              pool_options, absl::GetFlag(FLAGS_statement_timeout), pooler),
          absl::GetFlag(FLAGS_database_replica_url), router_options, clock,
          [](const tutoring::db::EndpointStatus& replica) {
            if (replica.usable) {
              spdlog::info("replica {} serves reads (replay lag {})",
                           replica.name, absl::FormatDuration(replica.lag));
            } else {
              spdlog::warn("replica {} serves no reads: {}", replica.name,
                           tutoring::OneLine(replica.reason));
            }
          });
  if (!pool.ok()) return Fail(pool.status());
  tutoring::db::PgRepository repository(**pool);

  tutoring::server::ServerOptions server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen);
  server_options.service.default_deadline =
      absl::GetFlag(FLAGS_default_deadline);
  server_options.grpc_api = absl::GetFlag(FLAGS_grpc_api) == "callback"
                                ? tutoring::server::GrpcApi::kCallback
                                : tutoring::server::GrpcApi::kAsync;
  server_options.grpc_threads = absl::GetFlag(FLAGS_grpc_threads);
  server_options.health.interval = absl::GetFlag(FLAGS_health_interval);
  server_options.health.timeout = absl::GetFlag(FLAGS_health_timeout);
  server_options.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  server_options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  absl::StatusOr<std::unique_ptr<tutoring::server::TutoringServer>> server =
      tutoring::server::TutoringServer::Start(server_options, repository,
                                              tokens, *zones, clock);
  if (!server.ok()) return Fail(server.status());

  spdlog::info(
      "tutoring-server listening on {} (port {}); database {}; pool {}+{} "
      "overflow on {} io threads, pipeline depth {}, max batch {}, acquire "
      "timeout {}, max waiting {}, max lifetime {}; "
      "default deadline {}; {} time zones; page token key {}; pooler {}; "
      "{} read replicas (max lag {})",
      server_options.listen_address, (*server)->port(),
      tutoring::db::DescribeConnectionString(pool_options.database_url),
      pool_options.pool_size, pool_options.max_overflow, (*pool)->primary().io_threads(),
      pool_options.pipeline_depth, pool_options.max_batch,
      absl::FormatDuration(pool_options.acquire_timeout),
      pool_options.max_waiting,
      absl::FormatDuration(pool_options.max_connection_lifetime),
      absl::FormatDuration(server_options.service.default_deadline),
      zones->size(),
      random_token_key ? "random (tokens die with the process)" : "configured",
      absl::GetFlag(FLAGS_database_pooler), (*pool)->replicas(),
      absl::FormatDuration(router_options.max_lag));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}: stopping (grace {})",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(server_options.shutdown_grace));
  (*server)->Shutdown();
  server->reset();
  (*pool)->Shutdown();
  spdlog::info("tutoring-server stopped");
  return 0;
}
