#include "bench/loadgen/request_mix.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tutoring::bench {
namespace {

struct RpcInfo {
  Rpc rpc;
  const char* name;
  const char* path;
};

constexpr RpcInfo kRpcInfo[kRpcCount] = {
    {Rpc::kHealthCheck, "Health", "/grpc.health.v1.Health/Check"},
    {Rpc::kGetUserRole, "GetUserRole",
     "/tutoring.v1.TutoringService/GetUserRole"},
    {Rpc::kGetStreak, "GetStreak", "/tutoring.v1.TutoringService/GetStreak"},
    {Rpc::kBatchGetStreaks, "BatchGetStreaks",
     "/tutoring.v1.TutoringService/BatchGetStreaks"},
    {Rpc::kListActiveUsers, "ListActiveUsers",
     "/tutoring.v1.TutoringService/ListActiveUsers"},
    {Rpc::kListUsersByRole, "ListUsersByRole",
     "/tutoring.v1.TutoringService/ListUsersByRole"},
    {Rpc::kListExercises, "ListExercises",
     "/tutoring.v1.TutoringService/ListExercises"},
};

constexpr int kMaxWeight = 1000000;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t TotalWeight(const std::vector<WeightedRpc>& mix) {
  uint64_t total = 0;
  for (const WeightedRpc& entry : mix) total += entry.weight;
  return total;
}

}  // namespace

absl::string_view RpcName(Rpc rpc) {
  return kRpcInfo[static_cast<int>(rpc)].name;
}

absl::string_view RpcPath(Rpc rpc) {
  return kRpcInfo[static_cast<int>(rpc)].path;
}

absl::StatusOr<Rpc> ParseRpc(absl::string_view name) {
  absl::string_view full = name;
  absl::ConsumePrefix(&full, "/");
  for (const RpcInfo& info : kRpcInfo) {
    if (name == info.name || full == absl::string_view(info.path).substr(1)) {
      return info.rpc;
    }
  }
  std::vector<absl::string_view> names;
  for (const RpcInfo& info : kRpcInfo) names.push_back(info.name);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown RPC \"", name, "\"; known: ", absl::StrJoin(names, ", "),
      " (or a full name such as grpc.health.v1.Health/Check)"));
}

absl::StatusOr<std::vector<WeightedRpc>> ParseMix(absl::string_view spec) {
  if (absl::StripAsciiWhitespace(spec).empty()) {
    return absl::InvalidArgumentError("mix must name at least one RPC");
  }
  std::vector<WeightedRpc> mix;
  absl::flat_hash_set<Rpc> seen;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mix \"", spec, "\" has an empty item"));
    }
    // Full method names contain '/', never ':'; the weight follows the last
    // ':'.
    absl::string_view name = item;
    int weight = 1;
    const size_t colon = item.rfind(':');
    if (colon != absl::string_view::npos) {
      name = absl::StripAsciiWhitespace(item.substr(0, colon));
      const absl::string_view weight_text =
          absl::StripAsciiWhitespace(item.substr(colon + 1));
      if (!absl::SimpleAtoi(weight_text, &weight) || weight < 1 ||
          weight > kMaxWeight) {
        return absl::InvalidArgumentError(
            absl::StrCat("mix weight must be an integer in [1, ", kMaxWeight,
                         "], got \"", weight_text, "\" for ", name));
      }
    }
    absl::StatusOr<Rpc> rpc = ParseRpc(name);
    if (!rpc.ok()) return rpc.status();
    if (!seen.insert(*rpc).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("mix names ", RpcName(*rpc), " twice"));
    }
    mix.push_back({*rpc, weight});
  }
  return mix;
}

std::string FormatMix(const std::vector<WeightedRpc>& mix) {
  return absl::StrJoin(mix, ",", [](std::string* out, const WeightedRpc& e) {
    absl::StrAppend(out, RpcName(e.rpc), ":", e.weight);
  });
}

absl::Status ValidateRequestSpace(const RequestSpace& space) {
  if (space.user_id_min > space.user_id_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("user id range is empty: min ", space.user_id_min,
                     " > max ", space.user_id_max));
  }
  if (space.time_zones.empty()) {
    return absl::InvalidArgumentError("time_zones must not be empty");
  }
  if (space.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be >= 1, got ", space.batch_size));
  }
  return absl::OkStatus();
}

Random::Random(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& word : s_) word = SplitMix64(state);
}

uint64_t Random::Next() {
  const uint64_t result = RotateLeft(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = RotateLeft(s_[3], 45);
  return result;
}

uint64_t Random::Uniform(uint64_t n) {
  // Lemire's multiply-and-reject: unbiased, usually one multiplication.
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t Random::UniformIn(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(Next());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + Uniform(span + 1));
}

RequestGenerator::RequestGenerator(std::vector<WeightedRpc> mix,
                                   RequestSpace space, uint64_t seed)
    : mix_(std::move(mix)),
      space_(std::move(space)),
      total_weight_(TotalWeight(mix_)),
      random_(seed) {}

Rpc RequestGenerator::PickRpc() {
  if (mix_.size() == 1) return mix_[0].rpc;
  uint64_t point = random_.Uniform(total_weight_);
  for (const WeightedRpc& entry : mix_) {
    if (point < static_cast<uint64_t>(entry.weight)) return entry.rpc;
    point -= entry.weight;
  }
  return mix_.back().rpc;
}

int64_t RequestGenerator::UserId() {
  return random_.UniformIn(space_.user_id_min, space_.user_id_max);
}

Rpc RequestGenerator::Next(std::string* message) {
  const Rpc rpc = PickRpc();
  switch (rpc) {
    case Rpc::kHealthCheck:
      health_.SerializeToString(message);
      break;
    case Rpc::kGetUserRole:
      get_user_role_.set_user_id(UserId());
      get_user_role_.SerializeToString(message);
      break;
    case Rpc::kGetStreak:
      get_streak_.set_user_id(UserId());
      get_streak_.set_time_zone(
          space_.time_zones[random_.Uniform(space_.time_zones.size())]);
      get_streak_.SerializeToString(message);
      break;
    case Rpc::kBatchGetStreaks:
      batch_get_streaks_.clear_user_ids();
      for (int i = 0; i < space_.batch_size; ++i) {
        batch_get_streaks_.add_user_ids(UserId());
      }
      batch_get_streaks_.set_time_zone(
          space_.time_zones[random_.Uniform(space_.time_zones.size())]);
      batch_get_streaks_.SerializeToString(message);
      break;
    case Rpc::kListActiveUsers:
      list_active_users_.set_page_size(space_.page_size);
      // ROLE_UNSPECIFIED (any role) or one of the three roles.
      list_active_users_.set_role(
          static_cast<tutoring::v1::Role>(random_.Uniform(4)));
      list_active_users_.set_pending_onboarding_only(random_.Uniform(2) == 1);
      list_active_users_.SerializeToString(message);
      break;
    case Rpc::kListUsersByRole:
      list_users_by_role_.set_page_size(space_.page_size);
      list_users_by_role_.set_role(
          static_cast<tutoring::v1::Role>(1 + random_.Uniform(3)));
      list_users_by_role_.SerializeToString(message);
      break;
    case Rpc::kListExercises:
      list_exercises_.set_page_size(space_.page_size);
      list_exercises_.set_difficulty(
          static_cast<tutoring::v1::Difficulty>(1 + random_.Uniform(3)));
      if (space_.languages.empty()) {
        list_exercises_.clear_programming_language();
      } else {
        list_exercises_.set_programming_language(
            space_.languages[random_.Uniform(space_.languages.size())]);
      }
      list_exercises_.SerializeToString(message);
      break;
  }
  return rpc;
}

}  // namespace tutoring::bench
