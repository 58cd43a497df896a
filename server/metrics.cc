#include "server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace tutoring::server {
namespace {

const prometheus::Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  return *buckets;
}

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::MetricFamily Single(std::string name, std::string help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family =
      Family(std::move(name), std::move(help), type);
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

}  // namespace

DbMetrics::DbMetrics(prometheus::Registry& registry,
                     const std::vector<db::StatementSpec>& statements)
    : wait_seconds_(prometheus::BuildHistogram()
                        .Name("tutoring_db_wait_seconds")
                        .Help("Time a call waited for room on a database "
                              "connection before its statement was sent.")
                        .Register(registry)
                        .Add({}, SecondsBuckets())),
      batch_size_(prometheus::BuildHistogram()
                      .Name("tutoring_db_batch_size")
                      .Help("Calls answered by one execution of a batch "
                            "(coalesced) statement.")
                      .Register(registry)
                      .Add({}, prometheus::Histogram::BucketBoundaries{
                                   2, 4, 8, 16, 32, 64, 128, 256})),
      connection_losses_(
          prometheus::BuildCounter()
              .Name("tutoring_db_connection_losses_total")
              .Help("Open database connections that broke (each is "
                    "replaced by a reconnect).")
              .Register(registry)
              .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("tutoring_db_errors_total")
                  .Help("Statements that failed, by SQLSTATE class (the "
                        "first two characters).")
                  .Register(registry)) {
  auto& seconds = prometheus::BuildHistogram()
                      .Name("tutoring_db_statement_seconds")
                      .Help("Execution time of a statement on its connection "
                            "(sent to answered), by statement and form.")
                      .Register(registry);
  for (const db::StatementSpec& spec : statements) {
    statement_seconds_.push_back(&seconds.Add(
        {{"statement", spec.name}, {"form", "single"}}, SecondsBuckets()));
    statement_seconds_.push_back(
        spec.batch_sql.empty()
            ? nullptr
            : &seconds.Add({{"statement", spec.name}, {"form", "batch"}},
                           SecondsBuckets()));
  }
}

void DbMetrics::CallSent(absl::Duration waited) {
  wait_seconds_.Observe(absl::ToDoubleSeconds(waited));
}

void DbMetrics::StatementDone(int statement, bool batch, int calls,
                              absl::Duration elapsed,
                              absl::string_view sqlstate) {
  const size_t slot = 2 * static_cast<size_t>(statement) + (batch ? 1 : 0);
  if (statement >= 0 && slot < statement_seconds_.size() &&
      statement_seconds_[slot] != nullptr) {
    statement_seconds_[slot]->Observe(absl::ToDoubleSeconds(elapsed));
  }
  if (batch) batch_size_.Observe(calls);
  if (sqlstate.empty()) return;
  const std::string sql_class(sqlstate.substr(0, 2));
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    prometheus::Counter*& slot_counter = errors_by_class_[sql_class];
    if (slot_counter == nullptr) {
      slot_counter = &errors_.Add({{"sqlstate_class", sql_class}});
    }
    counter = slot_counter;
  }
  counter->Increment();
}

void DbMetrics::ConnectionLost() { connection_losses_.Increment(); }

std::vector<prometheus::MetricFamily> PoolCollector::Collect() const {
  using prometheus::MetricType;
  const std::vector<db::EndpointStatus> endpoints = router_.Endpoints();
  // One family per name, one sample per endpoint (and state).
  struct Spec {
    const char* name;
    const char* help;
    MetricType type;
    std::function<double(const db::EndpointStatus&)> value;
  };
  const Spec specs[] = {
      {"tutoring_db_connections_open", "Open database connections.",
       MetricType::Gauge,
       [](const db::EndpointStatus& e) { return e.pool.open_connections; }},
      {"tutoring_db_queue_length", "Calls waiting for room on a connection.",
       MetricType::Gauge,
       [](const db::EndpointStatus& e) { return e.pool.waiting; }},
      {"tutoring_db_connects_total", "Database connections opened.",
       MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.connects);
       }},
      {"tutoring_db_connect_failures_total",
       "Failed attempts to open a database connection.", MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.connect_failures);
       }},
      {"tutoring_db_statements_sent_total",
       "Statement executions sent to the database.", MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.statements_sent);
       }},
      {"tutoring_db_batches_sent_total",
       "Executions of batch forms, each answering several calls.",
       MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.batches_sent);
       }},
      {"tutoring_db_calls_batched_total",
       "Calls answered by batch executions.", MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.calls_batched);
       }},
      {"tutoring_db_cancels_sent_total", "Cancel requests sent to the database.",
       MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.pool.cancels_sent);
       }},
      {"tutoring_db_endpoint_usable",
       "1 while the endpoint takes reads (the primary always; a replica "
       "while reachable and within --replica-max-lag).",
       MetricType::Gauge,
       [](const db::EndpointStatus& e) { return e.usable ? 1.0 : 0.0; }},
      {"tutoring_db_replica_lag_seconds",
       "Replay lag of a replica at its last successful probe (0 for the "
       "primary).",
       MetricType::Gauge,
       [](const db::EndpointStatus& e) {
         return absl::ToDoubleSeconds(e.lag);
       }},
      {"tutoring_db_endpoint_outstanding_calls",
       "Calls submitted to the endpoint and not answered yet.",
       MetricType::Gauge,
       [](const db::EndpointStatus& e) { return e.outstanding; }},
      {"tutoring_db_endpoint_calls_total", "Calls routed to the endpoint.",
       MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.calls);
       }},
      {"tutoring_db_endpoint_retried_elsewhere_total",
       "Calls that failed UNAVAILABLE on the endpoint and were retried on "
       "another.",
       MetricType::Counter,
       [](const db::EndpointStatus& e) {
         return static_cast<double>(e.retried_elsewhere);
       }},
  };
  auto labels_of = [](const db::EndpointStatus& e) {
    return std::vector<prometheus::ClientMetric::Label>{
        {"endpoint", e.name},
        {"role", e.role == db::EndpointStatus::Role::kPrimary ? "primary"
                                                               : "replica"}};
  };
  std::vector<prometheus::MetricFamily> families;
  prometheus::MetricFamily connections =
      Family("tutoring_db_connections",
             "Open database connections: busy (statements in flight) or idle.",
             MetricType::Gauge);
  for (const db::EndpointStatus& e : endpoints) {
    for (const auto& [state, value] :
         {std::pair<const char*, int>{"busy", e.pool.busy},
          std::pair<const char*, int>{
              "idle", e.pool.open_connections - e.pool.busy}}) {
      prometheus::ClientMetric metric;
      metric.label = labels_of(e);
      metric.label.push_back({"state", state});
      metric.gauge.value = value;
      connections.metric.push_back(std::move(metric));
    }
  }
  families.push_back(std::move(connections));
  for (const Spec& spec : specs) {
    prometheus::MetricFamily family = Family(spec.name, spec.help, spec.type);
    for (const db::EndpointStatus& e : endpoints) {
      prometheus::ClientMetric metric;
      metric.label = labels_of(e);
      if (spec.type == MetricType::Counter) {
        metric.counter.value = spec.value(e);
      } else {
        metric.gauge.value = spec.value(e);
      }
      family.metric.push_back(std::move(metric));
    }
    families.push_back(std::move(family));
  }
  return families;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  // /proc/self/stat: the fields after the command name's closing paren.
  std::ifstream stat_file("/proc/self/stat");
  std::stringstream buffer;
  buffer << stat_file.rdbuf();
  const std::string stat = buffer.str();
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(stat).substr(paren + 2), ' ');
    // Field numbers from proc(5), minus 3 (pid, comm, and 1-based).
    auto field = [&](size_t number) -> double {
      double value = 0;
      if (number - 3 < fields.size()) {
        (void)absl::SimpleAtod(fields[number - 3], &value);
      }
      return value;
    };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    families.push_back(Single("process_cpu_seconds_total",
                              "Total user and system CPU time spent in "
                              "seconds.",
                              MetricType::Counter,
                              (field(14) + field(15)) / ticks));
    families.push_back(Single("process_threads", "Number of OS threads.",
                              MetricType::Gauge, field(20)));
    families.push_back(Single("process_virtual_memory_bytes",
                              "Virtual memory size in bytes.",
                              MetricType::Gauge, field(23)));
    families.push_back(Single("process_resident_memory_bytes",
                              "Resident memory size in bytes.",
                              MetricType::Gauge, field(24) * page));
    // Start time: boot time + starttime ticks.
    std::ifstream proc_stat("/proc/stat");
    std::string line;
    double boot_time = 0;
    while (std::getline(proc_stat, line)) {
      if (absl::StartsWith(line, "btime ")) {
        (void)absl::SimpleAtod(absl::string_view(line).substr(6), &boot_time);
        break;
      }
    }
    families.push_back(Single("process_start_time_seconds",
                              "Start time of the process since unix epoch in "
                              "seconds.",
                              MetricType::Gauge,
                              boot_time + field(22) / ticks));
  }
  families.push_back(Single("process_open_fds",
                            "Number of open file descriptors.",
                            MetricType::Gauge, CountOpenFds()));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    families.push_back(Single("process_max_fds",
                              "Maximum number of open file descriptors.",
                              MetricType::Gauge,
                              static_cast<double>(limit.rlim_cur)));
  }
  return families;
}

void RegisterBuildInfo(prometheus::Registry& registry,
                       const std::string& version) {
  prometheus::BuildGauge()
      .Name("tutoring_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(registry)
      .Add({{"version", version}})
      .Set(1);
}

}  // namespace tutoring::server
