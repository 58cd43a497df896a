// The load generator against an in-process gRPC server whose answers are
// known: status counting, deadlines, open-loop timing, warmup, connection
// loss, and the HTTP/2 client underneath.
#include "bench/loadgen/load_generator.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

// Users 1..5 exist; ids <= 0 are invalid. GetStreak sleeps `streak_delay`
// first. ListUsersByRole returns page_size users with long names. Other
// RPCs are UNIMPLEMENTED (the generated default).
class FakeTutoringService final
    : public tutoring::v1::TutoringService::Service {
 public:
  grpc::Status GetUserRole(
      grpc::ServerContext*, const tutoring::v1::GetUserRoleRequest* request,
      tutoring::v1::GetUserRoleResponse* response) override {
    calls_.fetch_add(1);
    if (request->user_id() <= 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "user_id must be > 0");
    }
    if (request->user_id() > 5) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("user ", request->user_id(),
                                       " not found: 100% \"gone\" \xc3\xa9"));
    }
    response->set_user_id(request->user_id());
    response->set_role(tutoring::v1::ROLE_STUDENT);
    response->set_is_active(true);
    return grpc::Status::OK;
  }

  grpc::Status GetStreak(grpc::ServerContext*,
                         const tutoring::v1::GetStreakRequest* request,
                         tutoring::v1::Streak* response) override {
    calls_.fetch_add(1);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(streak_delay_ms_.load()));
    response->set_user_id(request->user_id());
    return grpc::Status::OK;
  }

  grpc::Status ListUsersByRole(
      grpc::ServerContext*, const tutoring::v1::ListUsersByRoleRequest* request,
      tutoring::v1::ListUsersByRoleResponse* response) override {
    calls_.fetch_add(1);
    for (int i = 1; i <= request->page_size(); ++i) {
      tutoring::v1::User* user = response->add_users();
      user->set_id(i);
      user->set_display_name(std::string(200, 'x'));
      user->set_email(absl::StrCat("user", i, "@example.com"));
    }
    return grpc::Status::OK;
  }

  std::atomic<int> streak_delay_ms_{0};
  std::atomic<int> calls_{0};
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void TearDown() override { StopServer(); }

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

TEST_F(LoadGeneratorTest, SlowCallsEndWithDeadlineExceeded) {
  service_.streak_delay_ms_ = 1000;
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
  // One call in flight at a time, each taking >= 20 ms, but one due every
  // 5 ms: call i cannot start before 20 * i ms yet was due at 5 * i ms, so
  // its latency is at least 20 + 15 * i ms. A closed-loop (coordinated
  // omission) measurement would say about 20 ms for every call.
  service_.streak_delay_ms_ = 20;
  LoadOptions options = Options("GetStreak");
  options.connections = 1;
  options.concurrency = 1;
  options.rps = 200;
  options.total = 20;
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kOk], 20);
  EXPECT_GE(report->all.latency.max(), 300'000'000);  // 20 + 15 * 19 = 305
  EXPECT_GE(report->all.latency.ValueAtQuantile(0.5), 150'000'000);
}

TEST_F(LoadGeneratorTest, WarmupCallsAreMadeButNotCounted) {
  LoadOptions options = Options("GetUserRole");
  options.requests.user_id_max = 5;
  options.total = 100;
  options.warmup = absl::Milliseconds(200);
  absl::StatusOr<LoadReport> report = RunLoad(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.calls(), 100);
  EXPECT_GT(service_.calls_.load(), 100);
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
  service_.streak_delay_ms_ = 5;
  LoadOptions options = Options("GetStreak");
  options.duration = absl::Seconds(1);
  std::thread stopper([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    StopServer();
  });
  absl::StatusOr<LoadReport> report = RunLoad(options);
  stopper.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->all.codes[kOk], 0);
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
