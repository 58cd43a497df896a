// tutoring-fault-load: calls for bench/faults.sh, with every outcome on
// stdout so the script can line them up with the faults it injects.
//
//   tutoring-fault-load --target=HOST:PORT [--threads=8] [--timeout=500ms]
//       [--seconds=10] [--users=1000] [--health-poll=20ms|0]
//
// GetUserRole for random users 1..users from `threads` threads (a channel
// each), back to back, each call with `timeout`, for `seconds`. Prints one
// line per call, "call <start_us> <end_us> <code>" (Unix microseconds, the
// gRPC status code number), and, unless --health-poll=0, one line per
// change of grpc.health.v1 Check(""), "health <time_us> <1 SERVING|0 not>",
// polled that often.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace {

absl::Mutex output_mu;

void Print(const std::string& line) {
  absl::MutexLock lock(&output_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
}

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  int threads = 8;
  int users = 1000;
  absl::Duration timeout = absl::Milliseconds(500);
  absl::Duration seconds = absl::Seconds(10);
  absl::Duration health_poll = absl::Milliseconds(20);
  bool ok = true;
  for (int i = 1; i < argc && ok; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--target=")) {
      target = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--threads=")) {
      ok = absl::SimpleAtoi(arg, &threads) && threads > 0;
    } else if (absl::ConsumePrefix(&arg, "--users=")) {
      ok = absl::SimpleAtoi(arg, &users) && users > 0;
    } else if (absl::ConsumePrefix(&arg, "--timeout=")) {
      ok = absl::ParseDuration(arg, &timeout) && timeout > absl::ZeroDuration();
    } else if (absl::ConsumePrefix(&arg, "--seconds=")) {
      double s = 0;
      ok = absl::SimpleAtod(arg, &s) && s > 0;
      seconds = absl::Seconds(s);
    } else if (absl::ConsumePrefix(&arg, "--health-poll=")) {
      ok = absl::ParseDuration(arg, &health_poll) &&
           health_poll >= absl::ZeroDuration();
    } else {
      ok = false;
    }
  }
  if (!ok || target.empty()) {
    std::cerr << "usage: tutoring-fault-load --target=HOST:PORT [--threads=N] "
                 "[--timeout=D] [--seconds=S] [--users=N] "
                 "[--health-poll=D|0]\n";
    return 64;
  }
  const absl::Time end = absl::Now() + seconds;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto stub = tutoring::v1::TutoringService::NewStub(
          grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                    args));
      std::mt19937_64 random(t + 1);
      while (absl::Now() < end) {
        tutoring::v1::GetUserRoleRequest request;
        request.set_user_id(1 + static_cast<int64_t>(random() % users));
        tutoring::v1::GetUserRoleResponse response;
        grpc::ClientContext context;
        const absl::Time start = absl::Now();
        context.set_deadline(absl::ToChronoTime(start + timeout));
        const grpc::Status status =
            stub->GetUserRole(&context, request, &response);
        const absl::Time done = absl::Now();
        Print("call " + std::to_string(Micros(start)) + " " +
              std::to_string(Micros(done)) + " " +
              std::to_string(static_cast<int>(status.error_code())) + "\n");
        if (!status.ok()) absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  if (health_poll > absl::ZeroDuration()) {
    workers.emplace_back([&] {
      auto stub = grpc::health::v1::Health::NewStub(
          grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
      int last = -1;
      while (absl::Now() < end) {
        grpc::health::v1::HealthCheckRequest request;
        grpc::health::v1::HealthCheckResponse response;
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
        const bool serving =
            stub->Check(&context, request, &response).ok() &&
            response.status() ==
                grpc::health::v1::HealthCheckResponse::SERVING;
        if ((serving ? 1 : 0) != last) {
          last = serving ? 1 : 0;
          Print("health " + std::to_string(Micros(absl::Now())) + " " +
                std::to_string(last) + "\n");
        }
        absl::SleepFor(health_poll);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  std::fflush(stdout);
  return 0;
}
