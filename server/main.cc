// tutoring-server: serves tutoring.v1.TutoringService over gRPC from a
// PostgreSQL database. The only place that reads flags and environment.
#include <prometheus/registry.h>
#include <pthread.h>
#include <signal.h>
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
#include "server/admin_http.h"
#include "server/call_telemetry.h"
#include "server/logging.h"
#include "server/metrics.h"
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
ABSL_FLAG(std::string, admin_listen,
          tutoring::server::AdminHttpOptions().listen_address,
          "host:port of the admin HTTP port serving /metrics (Prometheus), "
          "/healthz and /readyz (env ADMIN_LISTEN); empty turns it off");
ABSL_FLAG(std::string, log_format, "json",
          "json (one object per line) or text (env LOG_FORMAT)");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error, critical or off (env LOG_LEVEL)");
ABSL_FLAG(double, access_log_sample,
          tutoring::server::CallTelemetryOptions().access_log_sample,
          "share of OK calls (0..1) that get an access log line; failed "
          "calls always do, rate-limited (env ACCESS_LOG_SAMPLE)");
ABSL_FLAG(std::string, tzdata, "/usr/share/zoneinfo/tzdata.zi",
          "tzdata.zi file listing the accepted IANA time zone names "
          "(env TZDATA_FILE)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain to serve TLS with (env TLS_CERT_FILE); with "
          "--tls-key; empty: plaintext. Reloaded when it changes on disk");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key of --tls-cert (env TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate it "
          "signed (mTLS) (env TLS_CLIENT_CA_FILE)");
ABSL_FLAG(std::string, authz_policy, "",
          "gRPC authorization policy (JSON) deciding which identity may call "
          "which method; needs TLS; reloaded when it changes; empty: every "
          "call allowed (env AUTHZ_POLICY_FILE)");
ABSL_FLAG(std::string, token_file, "",
          "bearer tokens accepted in the authorization header, one "
          "<identity>.<secret> per line; needs TLS; reloaded when it changes "
          "(env TOKEN_FILE)");
ABSL_FLAG(absl::Duration, security_reload_interval,
          tutoring::server::SecurityOptions().reload_interval,
          "how often the certificate, CA, policy and token files are checked "
          "for changes; whole seconds, >= 1s (env SECURITY_RELOAD_INTERVAL)");
ABSL_FLAG(bool, reflection, tutoring::server::ServerOptions().reflection,
          "serve gRPC server reflection, v1alpha and v1 (env REFLECTION)");
ABSL_FLAG(absl::Duration, max_connection_age,
          tutoring::server::ConnectionOptions().max_connection_age,
          "connections older than this (+-10%) are asked to reconnect "
          "(GOAWAY), so clients behind an L4 balancer spread over new "
          "replicas; inf: never (env MAX_CONNECTION_AGE)");
ABSL_FLAG(absl::Duration, max_connection_age_grace,
          tutoring::server::ConnectionOptions().max_connection_age_grace,
          "time calls in flight get after that GOAWAY before the connection "
          "closes (env MAX_CONNECTION_AGE_GRACE)");
ABSL_FLAG(absl::Duration, keepalive_time,
          tutoring::server::ConnectionOptions().keepalive_time,
          "ping a connection idle this long, and close it when the ping is "
          "not answered within --keepalive-timeout; inf: no pings "
          "(env KEEPALIVE_TIME)");
ABSL_FLAG(absl::Duration, keepalive_timeout,
          tutoring::server::ConnectionOptions().keepalive_timeout,
          "how long a keepalive ping may go unanswered (env KEEPALIVE_TIMEOUT)");
ABSL_FLAG(int, max_concurrent_streams,
          tutoring::server::ConnectionOptions().max_concurrent_streams,
          "calls one client connection may have open at once (HTTP/2 "
          "SETTINGS_MAX_CONCURRENT_STREAMS) (env MAX_CONCURRENT_STREAMS)");
ABSL_FLAG(int, max_request_bytes,
          tutoring::server::ConnectionOptions().max_request_bytes,
          "largest request message taken; larger ones are RESOURCE_EXHAUSTED "
          "(env MAX_REQUEST_BYTES)");
ABSL_FLAG(int, max_calls_in_flight,
          tutoring::server::AdmissionOptions().max_calls_in_flight,
          "tutoring calls admitted at once over all connections; further "
          "ones are RESOURCE_EXHAUSTED before any work "
          "(env MAX_CALLS_IN_FLIGHT)");
ABSL_FLAG(int, max_batch_ids_in_flight,
          tutoring::server::AdmissionOptions().max_batch_ids_in_flight,
          "distinct user ids of BatchGetStreaks calls admitted at once; further calls "
          "are RESOURCE_EXHAUSTED before any work, so cheap calls keep the "
          "database (env MAX_BATCH_IDS_IN_FLIGHT)");

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
    {"admin_listen", "ADMIN_LISTEN"},
    {"log_format", "LOG_FORMAT"},
    {"log_level", "LOG_LEVEL"},
    {"access_log_sample", "ACCESS_LOG_SAMPLE"},
    {"tls_cert", "TLS_CERT_FILE"},
    {"tls_key", "TLS_KEY_FILE"},
    {"tls_client_ca", "TLS_CLIENT_CA_FILE"},
    {"authz_policy", "AUTHZ_POLICY_FILE"},
    {"token_file", "TOKEN_FILE"},
    {"security_reload_interval", "SECURITY_RELOAD_INTERVAL"},
    {"reflection", "REFLECTION"},
    {"max_connection_age", "MAX_CONNECTION_AGE"},
    {"max_connection_age_grace", "MAX_CONNECTION_AGE_GRACE"},
    {"keepalive_time", "KEEPALIVE_TIME"},
    {"keepalive_timeout", "KEEPALIVE_TIMEOUT"},
    {"max_concurrent_streams", "MAX_CONCURRENT_STREAMS"},
    {"max_request_bytes", "MAX_REQUEST_BYTES"},
    {"max_calls_in_flight", "MAX_CALLS_IN_FLIGHT"},
    {"max_batch_ids_in_flight", "MAX_BATCH_IDS_IN_FLIGHT"},
};

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
  const double sample = absl::GetFlag(FLAGS_access_log_sample);
  if (!(sample >= 0 && sample <= 1)) {
    tutoring::ExitUsageError(absl::StrCat(
        "--access-log-sample must be between 0 and 1, got ", sample));
  }
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
  tutoring::RealClock clock;
  // Logs go to stderr (stdout stays free for tools that wrap the server).
  tutoring::server::LogOptions log_options;
  {
    absl::StatusOr<tutoring::server::LogFormat> format =
        tutoring::server::ParseLogFormat(absl::GetFlag(FLAGS_log_format));
    tutoring::ExitIfUsageError(format.status());
    absl::StatusOr<spdlog::level::level_enum> level =
        tutoring::server::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
    tutoring::ExitIfUsageError(level.status());
    log_options.format = *format;
    log_options.level = *level;
  }
  tutoring::server::InstallLogging(log_options, clock);
  if (!args.empty()) {
    tutoring::ExitUsageError(
        absl::StrCat("unexpected argument '", args[0], "'"));
  }
  CheckFlags();

  // Security and connection flags are checked before the database is
  // touched, so a wrong path is a usage error at once.
  tutoring::server::ServerOptions server_options;
  server_options.security.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  server_options.security.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  server_options.security.tls_client_ca_file =
      absl::GetFlag(FLAGS_tls_client_ca);
  server_options.security.authz_policy_file = absl::GetFlag(FLAGS_authz_policy);
  server_options.security.token_file = absl::GetFlag(FLAGS_token_file);
  server_options.security.reload_interval =
      absl::GetFlag(FLAGS_security_reload_interval);
  server_options.reflection = absl::GetFlag(FLAGS_reflection);
  server_options.connection.max_connection_age =
      absl::GetFlag(FLAGS_max_connection_age);
  server_options.connection.max_connection_age_grace =
      absl::GetFlag(FLAGS_max_connection_age_grace);
  server_options.connection.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  server_options.connection.keepalive_timeout =
      absl::GetFlag(FLAGS_keepalive_timeout);
  server_options.connection.max_concurrent_streams =
      absl::GetFlag(FLAGS_max_concurrent_streams);
  server_options.connection.max_request_bytes =
      absl::GetFlag(FLAGS_max_request_bytes);
  server_options.admission.max_calls_in_flight =
      absl::GetFlag(FLAGS_max_calls_in_flight);
  server_options.admission.max_batch_ids_in_flight =
      absl::GetFlag(FLAGS_max_batch_ids_in_flight);
  tutoring::ExitIfUsageError(
      tutoring::server::ValidateConnectionOptions(server_options.connection));
  tutoring::ExitIfUsageError(
      tutoring::server::ValidateAdmissionOptions(server_options.admission));
  tutoring::ExitIfUsageError(
      tutoring::server::MakeServerSecurity(server_options.security).status());

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
  tutoring::db::PoolOptions configured =
      tutoring::db::PgRepository::ConfigurePool(
          pool_options, absl::GetFlag(FLAGS_statement_timeout), pooler);
  prometheus::Registry registry;
  tutoring::server::RegisterBuildInfo(registry, TUTORING_VERSION);
  tutoring::server::DbMetrics db_metrics(registry, configured.statements);
  configured.observer = &db_metrics;
  tutoring::server::CallTelemetryOptions telemetry_options;
  telemetry_options.access_log_sample = absl::GetFlag(FLAGS_access_log_sample);
  tutoring::server::CallTelemetry telemetry(registry, clock, telemetry_options);
  // The primary's pool, and one per replica (db/replica_router.h).
  absl::StatusOr<std::unique_ptr<tutoring::db::ReplicaRouter>> pool =
      tutoring::db::ReplicaRouter::Create(
          std::move(configured), absl::GetFlag(FLAGS_database_replica_url),
          router_options, clock,
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
  server_options.telemetry = &telemetry;
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

  tutoring::server::PoolCollector pool_collector(**pool);
  tutoring::server::ProcessCollector process_collector;
  std::unique_ptr<tutoring::server::AdminHttpServer> admin;
  if (const std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
      !admin_listen.empty()) {
    tutoring::server::AdminHttpOptions admin_options;
    admin_options.listen_address = admin_listen;
    tutoring::server::TutoringServer* serving = server->get();
    absl::StatusOr<std::unique_ptr<tutoring::server::AdminHttpServer>> started =
        tutoring::server::AdminHttpServer::Start(
            admin_options, {&registry, &pool_collector, &process_collector},
            [serving] { return serving->live(); },
            [serving] { return serving->ready(); });
    if (!started.ok()) return Fail(started.status());
    admin = *std::move(started);
    spdlog::info("admin HTTP (/metrics, /healthz, /readyz) on {} (admin port {})",
                 admin_listen, admin->port());
  }
  spdlog::info(
      "security: {}; reflection {}; max connection age {} (grace {}), "
      "keepalive {} (timeout {}); at most {} streams per connection, {} "
      "request bytes, {} calls and {} batch ids in flight",
      tutoring::server::DescribeSecurity(server_options.security),
      server_options.reflection ? "on" : "off",
      absl::FormatDuration(server_options.connection.max_connection_age),
      absl::FormatDuration(server_options.connection.max_connection_age_grace),
      absl::FormatDuration(server_options.connection.keepalive_time),
      absl::FormatDuration(server_options.connection.keepalive_timeout),
      server_options.connection.max_concurrent_streams,
      server_options.connection.max_request_bytes,
      server_options.admission.max_calls_in_flight,
      server_options.admission.max_batch_ids_in_flight);


  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}: stopping (grace {})",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(server_options.shutdown_grace));
  (*server)->Shutdown();
  admin.reset();
  server->reset();
  (*pool)->Shutdown();
  spdlog::info("tutoring-server stopped");
  return 0;
}
