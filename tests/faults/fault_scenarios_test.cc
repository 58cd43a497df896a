// The real tutoring-server binary under database faults: a PostgreSQL
// cluster of this test's own that is killed (-9) or stopped (SIGSTOP), and a
// fault proxy (tests/support/fault_proxy.h) between the server and the
// cluster that stalls, delays, resets or drops. Real gRPC clients call from
// several threads throughout.
//
// Each scenario asserts behaviour, with generous margins (a noisy 2-core CI
// box): the status codes calls end with (never UNKNOWN or INTERNAL), no call
// outliving its deadline by more than a margin, health NOT_SERVING during
// the fault and SERVING after, the server's sessions never above its pool's
// maximum (pg_stat_activity over a direct connection), answers equal to
// plain SQL once the fault ends, the process alive, and its log a few lines
// per second however many calls fail. bench/faults.sh measures the same
// figures closely (docs/RELIABILITY.md).
#include <libpq-fe.h>
#include <signal.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/migrate/migrator.h"
#include "gtest/gtest.h"
#include "tests/faults/fault_harness.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/private_cluster.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using Code = grpc::StatusCode;

constexpr char kApplication[] = "tutoring-server";
// The server's pool: 3 + 2 overflow connections at most.
constexpr int kPoolSize = 3;
constexpr int kMaxOverflow = 2;
constexpr int kMaxConnections = kPoolSize + kMaxOverflow;
constexpr absl::Duration kHealthInterval = absl::Milliseconds(200);
constexpr absl::Duration kHealthTimeout = absl::Milliseconds(500);
constexpr absl::Duration kShutdownGrace = absl::Seconds(1);
// Timings are asserted with this much slack: behaviour, not speed.
constexpr absl::Duration kMargin = absl::Milliseconds(500);
constexpr int kLoadThreads = 6;

// Codes a call may end with while the database is unreachable or stalled.
const std::set<Code> kFaultCodes = {Code::OK, Code::UNAVAILABLE,
                                    Code::DEADLINE_EXCEEDED,
                                    Code::RESOURCE_EXHAUSTED};

std::string RunSql(const std::string& url, const std::string& sql) {
  PGconn* connection = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(connection) != CONNECTION_OK) {
    error = PQerrorMessage(connection);
  } else {
    PGresult* result = PQexec(connection, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK &&
        PQresultStatus(result) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(connection);
  return error;
}

UserTruth ReadTruth(const std::string& url) {
  UserTruth truth;
  PGconn* connection = PQconnectdb(url.c_str());
  PGresult* result = PQexec(
      connection, "SELECT id, role::text, is_active FROM users ORDER BY id");
  for (int row = 0; row < PQntuples(result); ++row) {
    v1::GetUserRoleResponse answer;
    answer.set_user_id(std::stoll(PQgetvalue(result, row, 0)));
    const std::string role = PQgetvalue(result, row, 1);
    answer.set_role(role == "student"      ? v1::ROLE_STUDENT
                    : role == "instructor" ? v1::ROLE_INSTRUCTOR
                                           : v1::ROLE_ADMIN);
    answer.set_is_active(std::string(PQgetvalue(result, row, 2)) == "t");
    truth[answer.user_id()] = answer;
  }
  PQclear(result);
  PQfinish(connection);
  return truth;
}

// Lines the server may write during an outage of a few seconds under load:
// a handful per kind and second, not one per failed call.
int MaxOutageLines(absl::Duration outage) {
  return 20 + static_cast<int>(10 * absl::ToDoubleSeconds(outage));
}

class FaultScenariosTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new PrivateCluster("faults");
    const std::optional<std::string> url = cluster_->Start();
    ASSERT_TRUE(url.has_value());
    url_ = new std::string(*url);
    ASSERT_TRUE(db::MigrateUp(*url_, MigrationsDir()).ok());
    ASSERT_EQ(RunSql(*url_,
                     "INSERT INTO users (email, display_name, role, is_active) "
                     "SELECT 'u' || g || '@example.test', 'User ' || g, "
                     "(ARRAY['student','instructor','admin'])[1 + g % 3]"
                     "::user_role, g % 7 <> 0 "
                     "FROM generate_series(1, 300) g"),
              "");
    truth_ = new UserTruth(ReadTruth(*url_));
    ASSERT_EQ(truth_->size(), 300u);
  }
  static void TearDownTestSuite() {
    delete truth_;
    delete url_;
    delete cluster_;
  }

  void SetUp() override {
    ASSERT_NE(url_, nullptr);
    // A scenario that failed half-way must not leave the next one a stopped
    // or dead cluster.
    cluster_->Resume();
    if (!TrySessions(*url_, kApplication).has_value()) {
      ASSERT_TRUE(cluster_->Start().has_value());
    }
  }

  // The server, against the cluster directly or through `proxy`.
  std::unique_ptr<ServerProcess> StartServer(
      const FaultProxy* proxy, std::vector<std::string> extra = {}) {
    const std::string url =
        proxy != nullptr ? WithPort(*url_, proxy->port()) : *url_;
    std::vector<std::string> flags = {
        absl::StrCat("--database-pool-size=", kPoolSize),
        absl::StrCat("--database-max-overflow=", kMaxOverflow),
        "--database-io-threads=1",
        "--database-connect-timeout=1s",
        absl::StrCat("--health-interval=",
                     absl::FormatDuration(kHealthInterval)),
        absl::StrCat("--health-timeout=", absl::FormatDuration(kHealthTimeout)),
        absl::StrCat("--shutdown-grace=", absl::FormatDuration(kShutdownGrace)),
    };
    flags.insert(flags.end(), extra.begin(), extra.end());
    return ServerProcess::Start(url, flags);
  }

  std::unique_ptr<FaultProxy> StartProxy() {
    auto proxy = FaultProxy::Start(cluster_->port());
    EXPECT_TRUE(proxy.ok()) << proxy.status();
    return proxy.ok() ? *std::move(proxy) : nullptr;
  }

  // Every call of `summary` ended with one of `codes`, none past its
  // deadline by more than kMargin, and every OK answer was right.
  static void ExpectCalls(const CallSummary& summary,
                          const std::set<Code>& codes,
                          absl::string_view phase) {
    SCOPED_TRACE(phase);
    for (const auto& [code, count] : summary.by_code) {
      EXPECT_TRUE(codes.count(code) > 0)
          << count << " calls ended with code " << static_cast<int>(code)
          << ": " << summary.ToString();
    }
    EXPECT_LE(summary.max_overshoot, kMargin) << summary.ToString();
    EXPECT_EQ(summary.wrong_answers, 0) << summary.ToString();
  }

  // After a fault: health SERVING again, and calls answer OK and right.
  void ExpectRecovery(ServerProcess& server, const HealthWatcher& health,
                      CallLoad& load, absl::Time fault_end) {
    EXPECT_TRUE(health.WaitFor(fault_end, true, absl::Seconds(10)).has_value())
        << "health never SERVING again";
    absl::Time recovered = absl::InfiniteFuture();
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (absl::Now() < until) {
      recovered = Summarize(load.Records(), fault_end, absl::InfiniteFuture())
                      .FirstEnd(Code::OK);
      if (recovered != absl::InfiniteFuture()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_NE(recovered, absl::InfiniteFuture())
        << "no OK call after the fault";
    // From a moment after the first OK on, every call answers OK.
    const absl::Time settled = absl::Now() + absl::Milliseconds(300);
    absl::SleepFor(settled + absl::Seconds(1) - absl::Now());
    ExpectCalls(Summarize(load.Records(), settled, absl::Now()), {Code::OK},
                "after recovery");
    EXPECT_FALSE(server.process().WaitFor(absl::ZeroDuration()).has_value())
        << "the server exited:\n"
        << server.process().Err();
  }

  // What every scenario watches a server with: its health, the database
  // sessions it holds, and a closed-loop load of calls with `deadline`,
  // running for half a second before the fault; `lines_before` counts the
  // log lines (besides OK calls) written until then.
  struct Watched {
    Watched(ServerProcess& server, absl::Duration deadline)
        : health(server.target()),
          sessions(*url_, kApplication),
          load(server.target(), *truth_, kLoadThreads, deadline) {
      absl::SleepFor(absl::Milliseconds(500));
      lines_before = CountLinesBesidesOkCalls(server.process().Err());
    }
    HealthWatcher health;
    SessionSampler sessions;
    CallLoad load;
    int lines_before = 0;
  };

  // Under load, `stall` makes the database stop answering for 3 s and
  // `resume` lets it go on: calls end with fault codes (some at their
  // deadline, none later than kMargin past it), health goes NOT_SERVING in
  // time, the log stays short, sessions stay within the pool, and all
  // recovers.
  void RunStallScenario(ServerProcess& server, absl::string_view what,
                        bool sample_during_stall,
                        const std::function<bool()>& stall,
                        const std::function<bool()>& resume) {
    Watched watched(server, absl::Milliseconds(500));
    HealthWatcher& health = watched.health;
    SessionSampler& sessions = watched.sessions;
    CallLoad& load = watched.load;
    sessions.set_paused(!sample_during_stall);
    const absl::Time stalled_at = absl::Now();
    ASSERT_TRUE(stall());
    absl::SleepFor(absl::Seconds(3));
    const CallSummary stalled =
        Summarize(load.Records(), stalled_at, absl::Now());
    const std::optional<absl::Time> not_serving =
        health.FirstSince(stalled_at, false);
    const int stall_lines =
        CountLinesBesidesOkCalls(server.process().Err()) - watched.lines_before;
    EXPECT_LE(sessions.max(), kMaxConnections);
    ASSERT_TRUE(resume());
    const absl::Time resumed = absl::Now();
    sessions.set_paused(false);

    ExpectCalls(stalled, kFaultCodes, what);
    EXPECT_GT(stalled.Count(Code::DEADLINE_EXCEEDED), 0) << stalled.ToString();
    ASSERT_TRUE(not_serving.has_value()) << "health stayed SERVING";
    EXPECT_LE(*not_serving - stalled_at,
              kHealthInterval + kHealthTimeout + kMargin);
    EXPECT_LE(stall_lines, MaxOutageLines(resumed - stalled_at))
        << server.process().Err();
    ExpectRecovery(server, health, load, resumed);
    load.Stop();
    EXPECT_LE(sessions.max(), kMaxConnections);
  }

  // Under load, the proxy resets or drops every connection for 2 s: calls
  // fail fast with UNAVAILABLE, health goes NOT_SERVING, and all recovers.
  void RunBreakScenario(FaultProxy::Mode mode) {
    auto proxy = StartProxy();
    ASSERT_NE(proxy, nullptr);
    auto server = StartServer(proxy.get());
    ASSERT_NE(server, nullptr);
    Watched watched(*server, absl::Seconds(2));
    HealthWatcher& health = watched.health;
    SessionSampler& sessions = watched.sessions;
    CallLoad& load = watched.load;
    const absl::Time broken = absl::Now();
    proxy->SetMode(mode);
    absl::SleepFor(absl::Seconds(2));
    const CallSummary down = Summarize(load.Records(), broken, absl::Now());
    const int outage_lines = CountLinesBesidesOkCalls(server->process().Err()) -
                             watched.lines_before;
    proxy->SetMode(FaultProxy::Mode::kPass);
    const absl::Time passed = absl::Now();

    ExpectCalls(down, kFaultCodes, "connections broken");
    EXPECT_GT(down.Count(Code::UNAVAILABLE), 0) << down.ToString();
    // Nobody waits for a database that refuses: calls fail long before
    // their 2 s deadline.
    EXPECT_LT(down.max_elapsed, absl::Seconds(1) + kMargin) << down.ToString();
    EXPECT_TRUE(health.FirstSince(broken, false).has_value());
    EXPECT_LE(outage_lines, MaxOutageLines(passed - broken))
        << server->process().Err();
    ExpectRecovery(*server, health, load, passed);
    load.Stop();
    EXPECT_LE(sessions.max(), kMaxConnections);
  }

  static PrivateCluster* cluster_;
  static std::string* url_;
  static UserTruth* truth_;
};

PrivateCluster* FaultScenariosTest::cluster_ = nullptr;
std::string* FaultScenariosTest::url_ = nullptr;
UserTruth* FaultScenariosTest::truth_ = nullptr;

TEST_F(FaultScenariosTest, DatabaseKilledUnderLoadThenRestarted) {
  auto server = StartServer(nullptr);
  ASSERT_NE(server, nullptr);
  Watched watched(*server, absl::Seconds(2));
  HealthWatcher& health = watched.health;
  SessionSampler& sessions = watched.sessions;
  CallLoad& load = watched.load;
  sessions.set_paused(true);
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(cluster_->Kill());
  absl::SleepFor(absl::Seconds(3));
  const CallSummary down = Summarize(load.Records(), killed, absl::Now());
  ExpectCalls(down, kFaultCodes, "database down");
  EXPECT_GT(down.Count(Code::UNAVAILABLE), 0) << down.ToString();
  EXPECT_TRUE(health.FirstSince(killed, false).has_value());
  // Calls after the first second fail fast: UNAVAILABLE, not a wait until
  // their 2 s deadline.
  const CallSummary settled_down =
      Summarize(load.Records(), killed + absl::Seconds(1), absl::Now());
  EXPECT_LT(settled_down.max_elapsed, absl::Seconds(1))
      << settled_down.ToString();

  ASSERT_TRUE(cluster_->Start().has_value());
  const absl::Time restarted = absl::Now();
  sessions.set_paused(false);
  const int outage_lines =
      CountLinesBesidesOkCalls(server->process().Err()) - watched.lines_before;
  EXPECT_LE(outage_lines, MaxOutageLines(restarted - killed))
      << server->process().Err();
  ExpectRecovery(*server, health, load, restarted);
  load.Stop();
  EXPECT_LE(sessions.max(), kMaxConnections);
  EXPECT_GT(sessions.samples(), 0);
}

TEST_F(FaultScenariosTest, DatabaseStoppedUnderLoadThenContinued) {
  auto server = StartServer(nullptr);
  ASSERT_NE(server, nullptr);
  // The sampler's own connection would hang on a stopped cluster.
  RunStallScenario(
      *server, "database stopped", /*sample_during_stall=*/false,
      [&] { return cluster_->Pause(); }, [&] { return cluster_->Resume(); });
}

TEST_F(FaultScenariosTest, ProxyStallUnderLoad) {
  auto proxy = StartProxy();
  ASSERT_NE(proxy, nullptr);
  auto server = StartServer(proxy.get());
  ASSERT_NE(server, nullptr);
  // Sessions are sampled directly, stall or not: the pool opens no more
  // than its maximum while its connections hang.
  RunStallScenario(
      *server, "proxy stalled", /*sample_during_stall=*/true,
      [&] {
        proxy->SetMode(FaultProxy::Mode::kStall);
        return true;
      },
      [&] {
        proxy->SetMode(FaultProxy::Mode::kPass);
        return true;
      });
}

TEST_F(FaultScenariosTest, ProxyDelayServesCallsThatHaveTimeAndEndsOthers) {
  auto proxy = StartProxy();
  ASSERT_NE(proxy, nullptr);
  auto server = StartServer(proxy.get());
  ASSERT_NE(server, nullptr);
  HealthWatcher health(server->target());
  // 150 ms each way: a round trip takes 300 ms, well inside the 500 ms
  // health timeout and the 3 s calls, and past the 100 ms ones.
  proxy->SetMode(FaultProxy::Mode::kDelay, absl::Milliseconds(150));
  const absl::Time delayed = absl::Now();
  {
    CallLoad patient(server->target(), *truth_, 3, absl::Seconds(3));
    CallLoad hasty(server->target(), *truth_, 3, absl::Milliseconds(100));
    absl::SleepFor(absl::Seconds(3));
    patient.Stop();
    hasty.Stop();
    const CallSummary patient_calls =
        Summarize(patient.Records(), delayed, absl::InfiniteFuture());
    const CallSummary hasty_calls =
        Summarize(hasty.Records(), delayed, absl::InfiniteFuture());
    ExpectCalls(patient_calls, {Code::OK}, "calls with time to spare");
    EXPECT_GT(patient_calls.total, 0);
    ExpectCalls(hasty_calls, {Code::DEADLINE_EXCEEDED}, "calls without");
    EXPECT_GT(hasty_calls.total, 0);
  }
  EXPECT_FALSE(health.FirstSince(delayed, false).has_value())
      << "health left SERVING under a delay it tolerates";
  EXPECT_LE(TrySessions(*url_, kApplication).value_or(0), kMaxConnections);
  proxy->SetMode(FaultProxy::Mode::kPass);
  CallLoad load(server->target(), *truth_, kLoadThreads, absl::Seconds(2));
  ExpectRecovery(*server, health, load, absl::Now());
}

TEST_F(FaultScenariosTest, ProxyResetUnderLoad) {
  RunBreakScenario(FaultProxy::Mode::kReset);
}

TEST_F(FaultScenariosTest, ProxyDropUnderLoad) {
  RunBreakScenario(FaultProxy::Mode::kDrop);
}

TEST_F(FaultScenariosTest, SigtermWhileTheDatabaseIsStalledExitsInTime) {
  auto proxy = StartProxy();
  ASSERT_NE(proxy, nullptr);
  // A health probe in flight on the stalled database when the signal
  // comes must not hold the exit up for its 3 s timeout either.
  auto server = StartServer(proxy.get(), {"--health-timeout=3s"});
  ASSERT_NE(server, nullptr);
  // Calls with long deadlines: they are in flight on the stalled
  // connections when the signal comes.
  CallLoad load(server->target(), *truth_, kLoadThreads, absl::Seconds(30));
  absl::SleepFor(absl::Milliseconds(300));
  proxy->SetMode(FaultProxy::Mode::kStall);
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_GT(load.in_flight(), 0);
  const absl::Time signalled = absl::Now();
  // drain delay 0 + grace 1 s + 1 s.
  const std::optional<ProcessResult> exit =
      server->Stop(kShutdownGrace + absl::Seconds(1));
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(exit.has_value())
      << "still running " << absl::FormatDuration(took) << " after SIGTERM:\n"
      << server->process().Err();
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->exit_code, 0) << server->process().Err();
  load.Stop();
  // Calls cut off by the shutdown end as the client library reports a
  // server going away, never UNKNOWN or INTERNAL.
  ExpectCalls(
      Summarize(load.Records(), signalled - absl::Seconds(1),
                absl::InfiniteFuture()),
      {Code::OK, Code::UNAVAILABLE, Code::CANCELLED, Code::DEADLINE_EXCEEDED},
      "calls cut off by the shutdown");
  proxy->SetMode(FaultProxy::Mode::kPass);
}

}  // namespace
}  // namespace tutoring::testing
