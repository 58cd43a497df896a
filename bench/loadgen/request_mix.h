// What tutoring-bench calls: the RPCs it knows, a weighted mix of them
// ("GetStreak:5,GetUserRole:3"), and a seeded generator of their requests
// with parameters drawn from the seeded data's ranges. The free functions are
// pure (and so thread-safe); Random and RequestGenerator are not thread-safe.
#ifndef TUTORING_BENCH_LOADGEN_REQUEST_MIX_H_
#define TUTORING_BENCH_LOADGEN_REQUEST_MIX_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpc/health/v1/health.pb.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::bench {

// The unary RPCs tutoring-bench can drive.
enum class Rpc {
  kHealthCheck,  // grpc.health.v1.Health/Check, service ""
  kGetUserRole,
  kGetStreak,
  kBatchGetStreaks,
  kListActiveUsers,
  kListUsersByRole,
  kListExercises,
};
inline constexpr int kRpcCount = 7;
inline constexpr std::array<Rpc, kRpcCount> kAllRpcs = {
    Rpc::kHealthCheck,     Rpc::kGetUserRole,     Rpc::kGetStreak,
    Rpc::kBatchGetStreaks, Rpc::kListActiveUsers, Rpc::kListUsersByRole,
    Rpc::kListExercises};

// Short name used in reports and mixes: "Health", "GetUserRole", ...
absl::string_view RpcName(Rpc rpc);
// HTTP/2 :path of the method, e.g. "/tutoring.v1.TutoringService/GetStreak".
absl::string_view RpcPath(Rpc rpc);

// Accepts the short name ("GetUserRole", "Health"), or the full method name
// with or without a leading '/' ("tutoring.v1.TutoringService/GetUserRole",
// "grpc.health.v1.Health/Check"). Case-sensitive. INVALID_ARGUMENT otherwise.
absl::StatusOr<Rpc> ParseRpc(absl::string_view name);

struct WeightedRpc {
  Rpc rpc;
  int weight;  // > 0

  friend bool operator==(const WeightedRpc& a, const WeightedRpc& b) {
    return a.rpc == b.rpc && a.weight == b.weight;
  }
};

// Parses "Name[:weight],Name[:weight],..." (weight defaults to 1; names as
// in ParseRpc; spaces around items are ignored). INVALID_ARGUMENT for an
// empty spec or item, an unknown name, a weight that is not an integer in
// [1, 1000000], or a name given twice.
absl::StatusOr<std::vector<WeightedRpc>> ParseMix(absl::string_view spec);

// "GetStreak:5,GetUserRole:3": the canonical spelling of a mix.
std::string FormatMix(const std::vector<WeightedRpc>& mix);

// Where request parameters are drawn from, each uniformly at random. The
// defaults match the project's seeder: user ids 1..10000, and its zones and
// languages.
struct RequestSpace {
  // User ids (GetUserRole, GetStreak, BatchGetStreaks), inclusive. Ids <= 0
  // are allowed: the service answers them INVALID_ARGUMENT.
  int64_t user_id_min = 1;
  int64_t user_id_max = 10000;
  // Zones for GetStreak and BatchGetStreaks; never empty.
  std::vector<std::string> time_zones = {"UTC",
                                         "America/New_York",
                                         "Europe/Berlin",
                                         "Asia/Kolkata",
                                         "Pacific/Kiritimati",
                                         "America/Los_Angeles",
                                         "Australia/Sydney"};
  // Languages for ListExercises; empty means "" (any language).
  std::vector<std::string> languages = {
      "python", "javascript", "typescript", "java", "c",      "cpp",
      "csharp", "go",         "rust",       "ruby", "kotlin", "swift"};
  // page_size of the List calls (first pages only: no page_token).
  int page_size = 50;
  // Ids per BatchGetStreaks call, >= 1.
  int batch_size = 50;
};

// INVALID_ARGUMENT naming the field when user_id_min > user_id_max,
// time_zones is empty, or batch_size < 1.
absl::Status ValidateRequestSpace(const RequestSpace& space);

// xoshiro256** seeded through splitmix64: fast, and the same sequence on
// every platform for a seed (std's distributions are not). Not thread-safe.
class Random {
 public:
  explicit Random(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]; lo <= hi.
  int64_t UniformIn(int64_t lo, int64_t hi);

 private:
  std::array<uint64_t, 4> s_;
};

// Draws RPCs by weight and builds their requests. Role, difficulty,
// pending_onboarding_only and zone/language are drawn uniformly; List calls
// ask for the first page; GetStreak and BatchGetStreaks leave as_of unset
// (now). Deterministic: the same mix, space and seed give the same sequence.
// Not thread-safe; one per thread.
class RequestGenerator {
 public:
  // `mix` must be non-empty with positive weights and `space` valid (see
  // ParseMix and ValidateRequestSpace).
  RequestGenerator(std::vector<WeightedRpc> mix, RequestSpace space,
                   uint64_t seed);
  RequestGenerator(const RequestGenerator&) = delete;
  RequestGenerator& operator=(const RequestGenerator&) = delete;

  // Picks the next RPC and replaces *message with its serialized request
  // (protobuf wire format, without gRPC framing). Reuses *message's capacity.
  Rpc Next(std::string* message);

 private:
  Rpc PickRpc();
  int64_t UserId();

  // Constant after construction.
  const std::vector<WeightedRpc> mix_;
  const RequestSpace space_;
  const uint64_t total_weight_;

  Random random_;
  // Messages reused from call to call, so generation allocates nothing once
  // strings have grown.
  grpc::health::v1::HealthCheckRequest health_;
  tutoring::v1::GetUserRoleRequest get_user_role_;
  tutoring::v1::GetStreakRequest get_streak_;
  tutoring::v1::BatchGetStreaksRequest batch_get_streaks_;
  tutoring::v1::ListActiveUsersRequest list_active_users_;
  tutoring::v1::ListUsersByRoleRequest list_users_by_role_;
  tutoring::v1::ListExercisesRequest list_exercises_;
};

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_REQUEST_MIX_H_
