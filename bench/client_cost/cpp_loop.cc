// The C++ side of bench/client_cost.sh: `concurrency` threads calling
// GetUserRole through one tutoring::Client (blocking calls, random ids in
// [1, users]) for `seconds`; prints one JSON line with the calls, errors,
// calls per second and this process's CPU time (user + system, getrusage)
// per call over the measured interval.
//
//   client-cost-cpp TARGET SECONDS CONCURRENCY USERS
#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client.h"

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  int concurrency = 0;
  int64_t users = 0;
  if (argc != 5 || !absl::SimpleAtod(argv[2], &seconds) ||
      !absl::SimpleAtoi(argv[3], &concurrency) ||
      !absl::SimpleAtoi(argv[4], &users) || seconds <= 0 ||
      concurrency < 1 || users < 1) {
    std::fprintf(stderr,
                 "usage: client-cost-cpp TARGET SECONDS CONCURRENCY USERS\n");
    return 64;
  }
  tutoring::ClientOptions options;
  options.target = argv[1];
  absl::StatusOr<std::unique_ptr<tutoring::Client>> client =
      tutoring::Client::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  tutoring::v1::GetUserRoleRequest warm;
  warm.set_user_id(1);
  (void)(*client)->GetUserRole(warm);  // connect before measuring

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  const double cpu_start = CpuSeconds();
  const absl::Time start = absl::Now();
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(t + 1);
      std::uniform_int_distribution<int64_t> ids(1, users);
      tutoring::v1::GetUserRoleRequest request;
      while (!stop.load(std::memory_order_relaxed)) {
        request.set_user_id(ids(random));
        if ((*client)->GetUserRole(request).ok()) {
          calls.fetch_add(1, std::memory_order_relaxed);
        } else {
          errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = CpuSeconds() - cpu_start;
  const int64_t done = calls.load();
  std::printf(
      "{\"client\":\"cpp\",\"calls\":%lld,\"errors\":%lld,\"seconds\":%.3f,"
      "\"calls_per_s\":%.1f,\"cpu_us_per_call\":%.2f}\n",
      static_cast<long long>(done), static_cast<long long>(errors.load()),
      elapsed, done / elapsed, done > 0 ? cpu * 1e6 / done : 0.0);
  return 0;
}
