#include "tests/faults/fault_harness.h"

#include <libpq-fe.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {

absl::Duration CallRecord::Overshoot() const {
  return std::max(absl::ZeroDuration(), (end - start) - deadline);
}

CallLoad::CallLoad(const std::string& target, const UserTruth& truth,
                   int threads, absl::Duration timeout)
    : target_(target), truth_(truth), timeout_(timeout) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] { Loop(i); });
  }
}

CallLoad::~CallLoad() { Stop(); }

void CallLoad::Stop() {
  stopping_.store(true);
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::vector<CallRecord> CallLoad::Records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

void CallLoad::Loop(int seed) {
  // A channel per thread: calls of one thread never wait for another's.
  grpc::ChannelArguments args;
  args.SetInt("grpc.testing.fixed_reconnect_backoff_ms", 100);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = v1::TutoringService::NewStub(grpc::CreateCustomChannel(
      target_, grpc::InsecureChannelCredentials(), args));
  std::mt19937_64 random(seed);
  std::vector<int64_t> ids;
  for (const auto& [id, unused] : truth_) ids.push_back(id);
  while (!stopping_.load()) {
    const int64_t id = ids[random() % ids.size()];
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    v1::GetUserRoleResponse response;
    grpc::ClientContext context;
    CallRecord record;
    record.deadline = timeout_;
    record.start = absl::Now();
    context.set_deadline(absl::ToChronoTime(record.start + timeout_));
    in_flight_.fetch_add(1);
    const grpc::Status status = stub->GetUserRole(&context, request, &response);
    in_flight_.fetch_sub(1);
    record.end = absl::Now();
    record.code = status.error_code();
    record.message = status.error_message();
    if (status.ok()) {
      const v1::GetUserRoleResponse& want = truth_.at(id);
      record.correct = response.user_id() == want.user_id() &&
                       response.role() == want.role() &&
                       response.is_active() == want.is_active();
    }
    {
      absl::MutexLock lock(&mu_);
      records_.push_back(std::move(record));
    }
    if (!status.ok()) absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::Time CallSummary::FirstEnd(grpc::StatusCode code) const {
  const auto it = first_end.find(code);
  return it == first_end.end() ? absl::InfiniteFuture() : it->second;
}

std::string CallSummary::ToString() const {
  std::string out = absl::StrCat(total, " calls:");
  for (const auto& [code, count] : by_code) {
    absl::StrAppend(&out, " code ", static_cast<int>(code), " x", count);
  }
  absl::StrAppend(&out, "; wrong answers ", wrong_answers, "; max overshoot ",
                  absl::FormatDuration(max_overshoot), "; max elapsed ",
                  absl::FormatDuration(max_elapsed));
  return out;
}

CallSummary Summarize(const std::vector<CallRecord>& records, absl::Time from,
                      absl::Time to) {
  CallSummary summary;
  for (const CallRecord& record : records) {
    if (record.start < from || record.start >= to) continue;
    ++summary.total;
    ++summary.by_code[record.code];
    if (record.code == grpc::StatusCode::OK && !record.correct) {
      ++summary.wrong_answers;
    }
    summary.max_overshoot = std::max(summary.max_overshoot, record.Overshoot());
    summary.max_elapsed =
        std::max(summary.max_elapsed, record.end - record.start);
    auto [it, inserted] = summary.first_end.emplace(record.code, record.end);
    if (!inserted) it->second = std::min(it->second, record.end);
  }
  return summary;
}

HealthWatcher::HealthWatcher(const std::string& target) {
  thread_ = std::thread([this, target] {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    std::optional<bool> last;
    while (!stopping_.load()) {
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      grpc::ClientContext context;
      context.set_deadline(
          absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
      const grpc::Status status = stub->Check(&context, request, &response);
      const bool serving =
          status.ok() &&
          response.status() ==
              grpc::health::v1::HealthCheckResponse::SERVING;
      if (!last.has_value() || *last != serving) {
        absl::MutexLock lock(&mu_);
        changes_.push_back({absl::Now(), serving});
        last = serving;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
}

HealthWatcher::~HealthWatcher() {
  stopping_.store(true);
  thread_.join();
}

std::optional<absl::Time> HealthWatcher::FirstSince(absl::Time since,
                                                    bool serving) const {
  absl::MutexLock lock(&mu_);
  // The status in force at `since` counts from `since`.
  std::optional<bool> before;
  for (const Change& change : changes_) {
    if (change.at < since) {
      before = change.serving;
      continue;
    }
    if (before.has_value() && *before == serving) return since;
    before.reset();
    if (change.serving == serving) return change.at;
  }
  if (before.has_value() && *before == serving) return since;
  return std::nullopt;
}

std::optional<absl::Time> HealthWatcher::WaitFor(absl::Time since,
                                                 bool serving,
                                                 absl::Duration timeout) const {
  const absl::Time until = absl::Now() + timeout;
  while (true) {
    if (auto at = FirstSince(since, serving)) return at;
    if (absl::Now() >= until) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::optional<int> TrySessions(const std::string& database_url,
                               const std::string& application_name) {
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {database_url.c_str(), "2", nullptr};
  PGconn* connection = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  std::optional<int> count;
  if (PQstatus(connection) == CONNECTION_OK) {
    const char* params[] = {application_name.c_str()};
    PGresult* result = PQexecParams(
        connection,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1,
        nullptr, params, nullptr, nullptr, 0);
    int n = 0;
    if (PQresultStatus(result) == PGRES_TUPLES_OK &&
        absl::SimpleAtoi(PQgetvalue(result, 0, 0), &n)) {
      count = n;
    }
    PQclear(result);
  }
  PQfinish(connection);
  return count;
}

SessionSampler::SessionSampler(const std::string& database_url,
                               const std::string& application_name) {
  thread_ = std::thread([this, database_url, application_name] {
    while (!stopping_.load()) {
      if (!paused_.load()) {
        if (std::optional<int> n = TrySessions(database_url, application_name)) {
          samples_.fetch_add(1);
          int seen = max_.load();
          while (*n > seen && !max_.compare_exchange_weak(seen, *n)) {
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
}

SessionSampler::~SessionSampler() {
  stopping_.store(true);
  thread_.join();
}

int CountLinesBesidesOkCalls(const std::string& text) {
  int lines = 0;
  for (absl::string_view line :
       absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "\"msg\":\"call\"") &&
        absl::StrContains(line, "\"code\":\"OK\"")) {
      continue;
    }
    ++lines;
  }
  return lines;
}

}  // namespace tutoring::testing
