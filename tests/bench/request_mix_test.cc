#include "bench/loadgen/request_mix.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring::bench {
namespace {

using ::testing::ElementsAre;

TEST(ParseRpc, AcceptsShortAndFullNames) {
  EXPECT_EQ(*ParseRpc("GetUserRole"), Rpc::kGetUserRole);
  EXPECT_EQ(*ParseRpc("tutoring.v1.TutoringService/GetStreak"),
            Rpc::kGetStreak);
  EXPECT_EQ(*ParseRpc("/tutoring.v1.TutoringService/ListExercises"),
            Rpc::kListExercises);
  EXPECT_EQ(*ParseRpc("Health"), Rpc::kHealthCheck);
  EXPECT_EQ(*ParseRpc("grpc.health.v1.Health/Check"), Rpc::kHealthCheck);
  for (const Rpc rpc : kAllRpcs) {
    EXPECT_EQ(*ParseRpc(RpcName(rpc)), rpc);
    EXPECT_EQ(*ParseRpc(RpcPath(rpc)), rpc);
  }
}

TEST(ParseRpc, RejectsUnknownNames) {
  for (const char* name :
       {"", "getuserrole", "GetUser", "Check",
        "tutoring.v1.TutoringService/Nope", "TutoringService/GetUserRole"}) {
    EXPECT_EQ(ParseRpc(name).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST(ParseMix, ParsesWeightsInOrder) {
  EXPECT_THAT(*ParseMix("GetStreak:5,GetUserRole:3,ListExercises:1"),
              ElementsAre(WeightedRpc{Rpc::kGetStreak, 5},
                          WeightedRpc{Rpc::kGetUserRole, 3},
                          WeightedRpc{Rpc::kListExercises, 1}));
}

TEST(ParseMix, WeightDefaultsToOneAndSpacesAreIgnored) {
  EXPECT_THAT(*ParseMix(" GetStreak , Health : 2 "),
              ElementsAre(WeightedRpc{Rpc::kGetStreak, 1},
                          WeightedRpc{Rpc::kHealthCheck, 2}));
}

TEST(ParseMix, AcceptsFullMethodNames) {
  EXPECT_THAT(*ParseMix("grpc.health.v1.Health/Check:4"),
              ElementsAre(WeightedRpc{Rpc::kHealthCheck, 4}));
}

TEST(ParseMix, RejectsBadSpecs) {
  for (const char* spec :
       {"", " ", ",", "GetStreak,", ",GetStreak", "GetStreak,,Health",
        "GetStreak:", "GetStreak:0", "GetStreak:-1", "GetStreak:1.5",
        "GetStreak:x", "GetStreak:1000001", "Nope:1", "GetStreak:1:2",
        "GetStreak:1,GetStreak:2", "Health,grpc.health.v1.Health/Check"}) {
    EXPECT_EQ(ParseMix(spec).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "\"" << spec << "\"";
  }
}

TEST(ParseMix, FormatMixRoundTrips) {
  const std::vector<WeightedRpc> mix = *ParseMix("Health:2,BatchGetStreaks");
  EXPECT_EQ(FormatMix(mix), "Health:2,BatchGetStreaks:1");
  EXPECT_EQ(*ParseMix(FormatMix(mix)), mix);
}

TEST(ValidateRequestSpace, RejectsEmptyRangesAndLists) {
  EXPECT_TRUE(ValidateRequestSpace(RequestSpace()).ok());
  RequestSpace reversed;
  reversed.user_id_min = 10;
  reversed.user_id_max = 9;
  EXPECT_EQ(ValidateRequestSpace(reversed).code(),
            absl::StatusCode::kInvalidArgument);
  RequestSpace no_zones;
  no_zones.time_zones.clear();
  EXPECT_EQ(ValidateRequestSpace(no_zones).code(),
            absl::StatusCode::kInvalidArgument);
  RequestSpace no_batch;
  no_batch.batch_size = 0;
  EXPECT_EQ(ValidateRequestSpace(no_batch).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  Random random(9);
  std::vector<int> counts(10, 0);
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t v = random.Uniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  // Each bucket expects 10,000 (sd 95): 600 is over 6 sd.
  for (const int count : counts) {
    EXPECT_NEAR(count, kDraws / 10, 600);
  }
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = random.UniformIn(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
  EXPECT_EQ(random.UniformIn(7, 7), 7);
}

TEST(Random, SameSeedSameSequence) {
  Random a(123);
  Random b(123);
  Random c(124);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs = differs || x != c.Next();
  }
  EXPECT_TRUE(differs);
}

std::map<Rpc, int> CountRpcs(RequestGenerator& generator, int draws) {
  std::map<Rpc, int> counts;
  std::string message;
  for (int i = 0; i < draws; ++i) ++counts[generator.Next(&message)];
  return counts;
}

TEST(RequestGenerator, FollowsTheWeights) {
  RequestGenerator generator(*ParseMix("GetStreak:5,GetUserRole:3,Health:2"),
                             RequestSpace(), 1);
  constexpr int kDraws = 100000;
  const std::map<Rpc, int> counts = CountRpcs(generator, kDraws);
  // Expected 50%, 30%, 20%; sd at most 0.16% of draws; 1% is > 6 sd.
  EXPECT_NEAR(counts.at(Rpc::kGetStreak), 0.5 * kDraws, 0.01 * kDraws);
  EXPECT_NEAR(counts.at(Rpc::kGetUserRole), 0.3 * kDraws, 0.01 * kDraws);
  EXPECT_NEAR(counts.at(Rpc::kHealthCheck), 0.2 * kDraws, 0.01 * kDraws);
  EXPECT_EQ(counts.size(), 3u);
}

TEST(RequestGenerator, SameSeedSameRequests) {
  const std::vector<WeightedRpc> mix =
      *ParseMix("GetStreak,GetUserRole,ListExercises,BatchGetStreaks");
  RequestGenerator a(mix, RequestSpace(), 77);
  RequestGenerator b(mix, RequestSpace(), 77);
  RequestGenerator c(mix, RequestSpace(), 78);
  std::string ma, mb, mc;
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const Rpc ra = a.Next(&ma);
    ASSERT_EQ(ra, b.Next(&mb));
    ASSERT_EQ(ma, mb);
    differs = differs || c.Next(&mc) != ra || mc != ma;
  }
  EXPECT_TRUE(differs);
}

TEST(RequestGenerator, HealthCheckAsksAboutTheWholeServer) {
  RequestGenerator generator({{Rpc::kHealthCheck, 1}}, RequestSpace(), 1);
  std::string message = "stale";
  EXPECT_EQ(generator.Next(&message), Rpc::kHealthCheck);
  grpc::health::v1::HealthCheckRequest request;
  ASSERT_TRUE(request.ParseFromString(message));
  EXPECT_EQ(request.service(), "");
}

TEST(RequestGenerator, UserIdsCoverTheWholeRangeAndNothingElse) {
  RequestSpace space;
  space.user_id_min = -1;
  space.user_id_max = 3;
  RequestGenerator generator({{Rpc::kGetUserRole, 1}}, space, 5);
  std::set<int64_t> seen;
  std::string message;
  for (int i = 0; i < 1000; ++i) {
    generator.Next(&message);
    tutoring::v1::GetUserRoleRequest request;
    ASSERT_TRUE(request.ParseFromString(message));
    ASSERT_GE(request.user_id(), -1);
    ASSERT_LE(request.user_id(), 3);
    seen.insert(request.user_id());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{-1, 0, 1, 2, 3}));
}

TEST(RequestGenerator, StreakRequestsUseTheListedZones) {
  RequestSpace space;
  space.time_zones = {"UTC", "Asia/Kolkata"};
  space.batch_size = 7;
  RequestGenerator generator(*ParseMix("GetStreak,BatchGetStreaks"), space, 3);
  std::set<std::string> zones;
  std::string message;
  for (int i = 0; i < 500; ++i) {
    if (generator.Next(&message) == Rpc::kGetStreak) {
      tutoring::v1::GetStreakRequest request;
      ASSERT_TRUE(request.ParseFromString(message));
      EXPECT_FALSE(request.has_as_of());
      zones.insert(request.time_zone());
    } else {
      tutoring::v1::BatchGetStreaksRequest request;
      ASSERT_TRUE(request.ParseFromString(message));
      EXPECT_EQ(request.user_ids_size(), 7);
      for (const int64_t id : request.user_ids()) {
        EXPECT_GE(id, space.user_id_min);
        EXPECT_LE(id, space.user_id_max);
      }
      zones.insert(request.time_zone());
    }
  }
  EXPECT_EQ(zones, (std::set<std::string>{"UTC", "Asia/Kolkata"}));
}

TEST(RequestGenerator, ListRequestsDrawValidFilters) {
  RequestSpace space;
  space.page_size = 17;
  space.languages = {"go", "rust"};
  RequestGenerator generator(
      *ParseMix("ListActiveUsers,ListUsersByRole,ListExercises"), space, 11);
  std::set<int> active_roles, by_roles, difficulties;
  std::set<bool> pending;
  std::set<std::string> languages;
  std::string message;
  for (int i = 0; i < 3000; ++i) {
    switch (generator.Next(&message)) {
      case Rpc::kListActiveUsers: {
        tutoring::v1::ListActiveUsersRequest r;
        ASSERT_TRUE(r.ParseFromString(message));
        EXPECT_EQ(r.page_size(), 17);
        EXPECT_EQ(r.page_token(), "");
        active_roles.insert(r.role());
        pending.insert(r.pending_onboarding_only());
        break;
      }
      case Rpc::kListUsersByRole: {
        tutoring::v1::ListUsersByRoleRequest r;
        ASSERT_TRUE(r.ParseFromString(message));
        EXPECT_EQ(r.page_size(), 17);
        by_roles.insert(r.role());
        break;
      }
      case Rpc::kListExercises: {
        tutoring::v1::ListExercisesRequest r;
        ASSERT_TRUE(r.ParseFromString(message));
        EXPECT_EQ(r.page_size(), 17);
        difficulties.insert(r.difficulty());
        languages.insert(r.programming_language());
        break;
      }
      default:
        FAIL() << "RPC outside the mix";
    }
  }
  EXPECT_EQ(active_roles, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(pending, (std::set<bool>{false, true}));
  EXPECT_EQ(by_roles, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(difficulties, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(languages, (std::set<std::string>{"go", "rust"}));
}

TEST(RequestGenerator, NoLanguagesMeansAnyLanguage) {
  RequestSpace space;
  space.languages.clear();
  RequestGenerator generator({{Rpc::kListExercises, 1}}, space, 1);
  std::string message;
  generator.Next(&message);
  tutoring::v1::ListExercisesRequest request;
  ASSERT_TRUE(request.ParseFromString(message));
  EXPECT_EQ(request.programming_language(), "");
}

}  // namespace
}  // namespace tutoring::bench
