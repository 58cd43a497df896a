// The load generator against an in-process gRPC server whose answers are
// known: status counting, deadlines, open-loop timing, warmup, connection
// loss, and the HTTP/2 client underneath. Slow or lost answers are calls the
// fake server holds until the test or the call's deadline ends them; no test
// sleeps.
#include "bench/loadgen/load_generator.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/loadgen/h2_connection.h"
#include "bench/loadgen/request_mix.h"
#include "gtest/gtest.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::bench {
namespace {

constexpr int kOk = 0;
constexpr int kInvalidArgument = 3;
constexpr int kDeadlineExceeded = 4;
constexpr int kNotFound = 5;
constexpr int kUnimplemented = 12;
constexpr int kUnavailable = 14;

// A GetStreak call the fake server leaves unanswered until the test releases
// it or the call is cancelled (its deadline passes, the client resets it, the
// server shuts down), whichever comes first. Owned by the service, so it
// outlives OnDone. Thread-safe.
class HeldCall final : public grpc::ServerUnaryReactor {
 public:
  // Finishes the call with `status` unless it already finished.
  void FinishOnce(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(status);
  }

  void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }
  void OnDone() override {}

 private:
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// Users 1..5 exist; ids <= 0 are invalid. GetStreak answers OK at once,
// except the calls the test holds (see HoldStreaks). ListUsersByRole returns
// page_size users with long names. Other RPCs are UNIMPLEMENTED (the
// generated default). Thread-safe.
class FakeTutoringService final
    : public tutoring::v1::TutoringService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetUserRole(
      grpc::CallbackServerContext* context,
      const tutoring::v1::GetUserRoleRequest* request,
      tutoring::v1::GetUserRoleResponse* response) override {
    calls_.fetch_add(1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->user_id() <= 0) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "user_id must be > 0"));
    } else if (request->user_id() > 5) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("user ", request->user_id(),
                                    " not found: 100% \"gone\" \xc3\xa9")));
    } else {
      response->set_user_id(request->user_id());
      response->set_role(tutoring::v1::ROLE_STUDENT);
      response->set_is_active(true);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerUnaryReactor* GetStreak(
      grpc::CallbackServerContext* context,
      const tutoring::v1::GetStreakRequest* request,
      tutoring::v1::Streak* response) override ABSL_LOCKS_EXCLUDED(mu_) {
    calls_.fetch_add(1);
    response->set_user_id(request->user_id());
    {
      absl::MutexLock lock(&mu_);
      const int64_t arrival = streak_arrivals_++;
      if (arrival >= hold_from_ && arrival < hold_to_) {
        held_.push_back(std::make_unique<HeldCall>());
        return held_.back().get();
      }
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ListUsersByRole(
      grpc::CallbackServerContext* context,
      const tutoring::v1::ListUsersByRoleRequest* request,
      tutoring::v1::ListUsersByRoleResponse* response) override {
    calls_.fetch_add(1);
    for (int i = 1; i <= request->page_size(); ++i) {
      tutoring::v1::User* user = response->add_users();
      user->set_id(i);
      user->set_display_name(std::string(200, 'x'));
      user->set_email(absl::StrCat("user", i, "@example.com"));
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // Holds the GetStreak calls whose arrival number (0-based, in the order
  // the server sees them) is in [from, to).
  void HoldStreaks(int64_t from, int64_t to = INT64_MAX)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    hold_from_ = from;
    hold_to_ = to;
  }

  // Answers OK every held call that has not finished, and holds no more.
  void ReleaseHeld() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<HeldCall*> held;
    {
      absl::MutexLock lock(&mu_);
      hold_to_ = hold_from_;
      for (const auto& call : held_) held.push_back(call.get());
    }
    for (HeldCall* call : held) call->FinishOnce(grpc::Status::OK);
  }

  // Waits up to `timeout` until `count` GetStreak calls have arrived; false
  // if they have not by then.
  bool AwaitStreakArrivals(int64_t count, absl::Duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const auto arrived = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return streak_arrivals_ >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout);
  }

  // Calls of every RPC received.
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};

  absl::Mutex mu_;
  int64_t streak_arrivals_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t hold_from_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t hold_to_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<HeldCall>> held_ ABSL_GUARDED_BY(mu_);
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void TearDown() override {
    service_.ReleaseHeld();
    StopServer();
  }

  void StartServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  // Shuts the server down, cancelling the calls it holds.
  void StopServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }

  LoadOptions Options(const std::string& mix) {
    LoadOptions options;
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.mix = *ParseMix(mix);
    options.concurrency = 8;
    options.connections = 2;
    options.timeout = absl::Seconds(10);
    return options;
  }

  FakeTutoringService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

const CallStats& StatsOf(const LoadReport& report, Rpc rpc) {
  for (const auto& [r, stats] : report.by_rpc) {
    if (r == rpc) return stats;
  }
  static const CallStats kNone;
  ADD_FAILURE() << "no stats for " << RpcName(rpc);
  return kNone;
}

// Expected status codes of GetUserRole calls, by replaying each thread's
// generator for its share of the total.
std::map<int, int64_t> ExpectedUserRoleCodes(const LoadOptions& options) {
  std::map<int, int64_t> expected;
  std::string message;
  for (int w = 0; w < options.threads; ++w) {
    RequestGenerator generator(options.mix, options.requests,
                               WorkerSeed(options.seed, w, false));
    const int64_t share = options.total / options.threads +
                          (w < options.total % options.threads ? 1 : 0);
    for (int64_t i = 0; i < share; ++i) {
      generator.Next(&message);
      tutoring::v1::GetUserRoleRequest request;
      EXPECT_TRUE(request.ParseFromString(message));
      const int64_t id = request.user_id();
      ++expected[id <= 0 ? kInvalidArgument : id <= 5 ? kOk : kNotFound];
    }
  }
  return expected;
}

TEST_F(LoadGeneratorTest, CountsEveryCallByStatusCode) {
  for (const int threads : {1, 2}) {
    LoadOptions options = Options("GetUserRole");
    options.requests.user_id_min = -1;
    options.requests.user_id_max = 10;
    options.total = 600;
    options.threads = threads;
    options.seed = 17;
    absl::StatusOr<LoadReport> report = RunLoad(options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->all.calls(), 600);
    EXPECT_EQ(report->all.latency.count(), 600);
    const std::map<int, int64_t> expected = ExpectedUserRoleCodes(options);
    ASSERT_EQ(expected.size(), 3u);
    for (const auto& [code, count] : expected) {
      EXPECT_EQ(report->all.codes[code], count)
          << StatusCodeName(code) << " with " << threads << " thread(s)";
    }
    EXPECT_GT(report->elapsed_seconds, 0);
  }
}

TEST_F(LoadGeneratorTest, KeepsTheFirstErrorMessagePerCodeDecoded) {
  LoadOptions options = Options("GetUserRole");
  options.requests.user_id_min = 6;
  options.requests.user_id_max = 6;
  options.total = 5;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kNotFound], 5);
  // Percent-decoded; the two UTF-8 bytes of the e-acute become '?'.
  EXPECT_EQ(report->error_messages.at(kNotFound),
            "user 6 not found: 100% \"gone\" ??");
}

TEST_F(LoadGeneratorTest, HealthCheckAndMixesSucceed) {
  LoadOptions options = Options("Health:3,GetUserRole:1");
  options.requests.user_id_max = 5;
  options.total = 2000;
  options.concurrency = 64;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kOk], 2000);
  EXPECT_EQ(StatsOf(*report, Rpc::kHealthCheck).calls() +
                StatsOf(*report, Rpc::kGetUserRole).calls(),
            2000);
  EXPECT_GT(StatsOf(*report, Rpc::kHealthCheck).calls(),
            StatsOf(*report, Rpc::kGetUserRole).calls());
}

TEST_F(LoadGeneratorTest, UnimplementedMethodsAreCountedAsSuch) {
  LoadOptions options = Options("ListExercises");
  options.total = 20;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kUnimplemented], 20);
}

TEST_F(LoadGeneratorTest, LargeResponsesArriveWhole) {
  LoadOptions options = Options("ListUsersByRole");
  options.requests.page_size = 1000;  // about 250 kB per response
  options.total = 40;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kOk], 40);
}

TEST_F(LoadGeneratorTest, UnansweredCallsEndWithDeadlineExceeded) {
  service_.HoldStreaks(0);  // the server answers no GetStreak
  LoadOptions options = Options("GetStreak");
  options.timeout = absl::Milliseconds(50);
  options.total = 8;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kDeadlineExceeded], 8);
  // The server's timer (millisecond granularity) may fire a little early.
  EXPECT_GE(report->all.latency.min(), 48'000'000);
  EXPECT_EQ(report->error_messages.count(kDeadlineExceeded), 1u);
}

TEST_F(LoadGeneratorTest, OpenLoopCannotFinishBeforeTheLastIntendedSend) {
  LoadOptions options = Options("Health");
  options.rps = 500;
  options.total = 250;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kOk], 250);
  // Call 249 is due 498 ms after the start.
  EXPECT_GE(report->elapsed_seconds, 0.498);
}

TEST_F(LoadGeneratorTest, OpenLoopCountsQueueingAsLatency) {
  // One call in flight at a time, 20 calls due within 1.9 ms (one every
  // 0.1 ms), and a server that never answers the first: it ends by its
  // 100 ms deadline, and only then can the others start, though they were
  // due long before. Measured from its intended send time, call i waited at
  // least 100 - 0.1 * i ms. A closed-loop (coordinated omission) measurement
  // would report a round trip, well under a millisecond, for calls 1..19.
  service_.HoldStreaks(0, 1);
  LoadOptions options = Options("GetStreak");
  options.connections = 1;
  options.concurrency = 1;
  options.rps = 10'000;
  options.total = 20;
  options.timeout = absl::Milliseconds(100);
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.calls(), 20);
  EXPECT_GE(report->all.codes[kDeadlineExceeded], 1);
  EXPECT_EQ(report->all.codes[kOk] + report->all.codes[kDeadlineExceeded], 20);
  // The server's timer may end the first call up to a couple of
  // milliseconds early, so every call waited at least 98 - 1.9 ms; the
  // median is exact to the histogram's precision (1/256).
  EXPECT_GE(report->all.latency.max(), 97'000'000);
  EXPECT_GE(report->all.latency.ValueAtQuantile(0.5), 95'000'000 / 256 * 255);
}

TEST_F(LoadGeneratorTest, WarmupCallsAreMadeButNotCounted) {
  LoadOptions options = Options("GetUserRole");
  options.requests.user_id_max = 5;
  options.total = 100;
  options.warmup = absl::Milliseconds(200);
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.calls(), 100);
  EXPECT_GT(service_.calls(), 100);
}

TEST_F(LoadGeneratorTest, DurationRunsStopAfterTheDuration) {
  LoadOptions options = Options("Health");
  options.duration = absl::Milliseconds(300);
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->all.calls(), 0);
  EXPECT_EQ(report->all.errors(), 0);
  EXPECT_GE(report->elapsed_seconds, 0.3);
}

TEST_F(LoadGeneratorTest, ServerLossFailsCallsUnavailableAndEnds) {
  // The server answers the first 40 GetStreak calls and holds the rest; it
  // is shut down as soon as it holds one, which cuts off the held calls and
  // refuses every later one.
  constexpr int64_t kAnswered = 40;
  service_.HoldStreaks(kAnswered);
  LoadOptions options = Options("GetStreak");
  options.connections = 2;
  options.concurrency = 32;
  options.total = 100;
  std::thread stopper([this] {
    EXPECT_TRUE(service_.AwaitStreakArrivals(kAnswered + 1, absl::Seconds(30)));
    StopServer();
  });
  absl::StatusOr<LoadReport> report = RunLoad(options);
  stopper.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.calls(), 100);
  // Call 41 reached the server only once at most 31 others were in flight,
  // so at least 41 - 32 answered calls had come back.
  EXPECT_GE(report->all.codes[kOk], kAnswered + 1 - options.concurrency);
  EXPECT_LE(report->all.codes[kOk], kAnswered);
  // At most 32 calls were in flight when the server went; the rest of the
  // 100 were refused.
  EXPECT_GT(report->all.codes[kUnavailable], 0);
  // Only successes, calls cut off by the shutdown, and refused reconnects.
  EXPECT_EQ(report->all.codes[kOk] + report->all.codes[kUnavailable] +
                report->all.codes[1 /* CANCELLED */],
            report->all.calls());
}

TEST_F(LoadGeneratorTest, RefusedConnectionIsUnavailable) {
  LoadOptions options = Options("Health");
  StopServer();  // nothing listens on port_ any more
  options.total = 1;
  options.connect_timeout = absl::Seconds(2);
  EXPECT_EQ(RunLoad(options).status().code(), absl::StatusCode::kUnavailable);
}

TEST(ValidateLoadOptions, RejectsOutOfRangeOptions) {
  LoadOptions good;
  good.mix = {{Rpc::kHealthCheck, 1}};
  EXPECT_TRUE(ValidateLoadOptions(good).ok());
  auto bad = [&](auto change) {
    LoadOptions options = good;
    change(options);
    return ValidateLoadOptions(options).code();
  };
  const absl::StatusCode invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(bad([](LoadOptions& o) { o.mix.clear(); }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.connections = 0; }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.concurrency = 0; }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) {
              o.connections = 4;
              o.concurrency = 3;
            }),
            invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.threads = 2; }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.total = -1; }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.duration = absl::ZeroDuration(); }),
            invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.warmup = -absl::Seconds(1); }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.rps = -1; }), invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.timeout = -absl::Seconds(1); }),
            invalid);
  EXPECT_EQ(bad([](LoadOptions& o) { o.requests.batch_size = 0; }), invalid);
}

TEST(ResolveTarget, ParsesHostAndPort) {
  absl::StatusOr<Endpoint> v4 = ResolveTarget("127.0.0.1:50051");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->authority, "127.0.0.1:50051");
  EXPECT_EQ(v4->address.ss_family, AF_INET);
  absl::StatusOr<Endpoint> v6 = ResolveTarget("[::1]:80");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->address.ss_family, AF_INET6);
  absl::StatusOr<Endpoint> dns = ResolveTarget("dns:///localhost:8080");
  ASSERT_TRUE(dns.ok()) << dns.status();
  EXPECT_EQ(dns->authority, "localhost:8080");
}

TEST(ResolveTarget, RejectsMalformedTargets) {
  for (const char* target :
       {"", "localhost", "localhost:", ":80", "localhost:0", "localhost:65536",
        "[::1]", "[::1]80", "host:port"}) {
    EXPECT_EQ(ResolveTarget(target).status().code(),
              absl::StatusCode::kInvalidArgument)
        << target;
  }
}

TEST(FormatGrpcTimeout, UsesTheFinestUnitThatFitsEightDigits) {
  EXPECT_EQ(FormatGrpcTimeout(absl::ZeroDuration()), "");
  EXPECT_EQ(FormatGrpcTimeout(absl::InfiniteDuration()), "");
  EXPECT_EQ(FormatGrpcTimeout(absl::Milliseconds(50)), "50000000n");
  EXPECT_EQ(FormatGrpcTimeout(absl::Milliseconds(250)), "250000u");
  EXPECT_EQ(FormatGrpcTimeout(absl::Seconds(10)), "10000000u");
  EXPECT_EQ(FormatGrpcTimeout(absl::Seconds(1000)), "1000000m");
  EXPECT_EQ(FormatGrpcTimeout(absl::Hours(100)), "360000S");
  // Rounded up, never down: the deadline must not shrink.
  EXPECT_EQ(FormatGrpcTimeout(absl::Seconds(100) + absl::Nanoseconds(1)),
            "100001m");
}

}  // namespace
}  // namespace tutoring::bench
