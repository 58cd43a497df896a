// The service through its public handlers, without a socket or a database:
// request validation (every INVALID_ARGUMENT rule of the API contract),
// paging and page tokens, conversion of rows into messages, streaks, and
// how the repository's answers and errors reach the caller. Ground truth is
// what the test put into the FakeRepository.
#include "server/service.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/grpc_service.h"
#include "server/page_token.h"
#include "server/time_zones.h"
#include "tests/server/fake_repository.h"
#include "tests/support/fake_clock.h"

namespace tutoring::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tutoring::testing::FakeClock;
using ::tutoring::testing::FakeRepository;

const absl::TimeZone& NewYork() {
  static const absl::TimeZone* zone = [] {
    auto* z = new absl::TimeZone;
    EXPECT_TRUE(absl::LoadTimeZone("America/New_York", z));
    return z;
  }();
  return *zone;
}

db::UserRow User(int64_t id, db::UserRole role, bool active,
                 bool onboarded = true) {
  db::UserRow user;
  user.id = id;
  user.email = absl::StrCat("user", id, "@example.test");
  user.display_name = absl::StrCat("User ", id);
  user.role = role;
  user.is_active = active;
  user.onboarding_completed = onboarded;
  user.created_at = absl::FromUnixMicros(1'700'000'000'123'456 + id);
  return user;
}

db::ExerciseRow Exercise(int64_t id, db::Difficulty difficulty,
                         const std::string& language) {
  db::ExerciseRow exercise;
  exercise.id = id;
  exercise.title = absl::StrCat("Exercise ", id);
  exercise.difficulty = difficulty;
  exercise.programming_language = language;
  exercise.created_at = absl::FromUnixSeconds(1'600'000'000 + id);
  return exercise;
}

google::protobuf::Timestamp Timestamp(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest()
      : tokens_("unit-test-key"),
        zones_(TimeZoneNames::LoadFromFile("/usr/share/zoneinfo/tzdata.zi")
                   .value()),
        service_(repository_, tokens_, zones_, clock_) {
    // Users 1..12: roles cycle student, instructor, admin; every fourth
    // inactive; odd ids onboarded.
    for (int64_t id = 1; id <= 12; ++id) {
      repository_.AddUser(User(id, static_cast<db::UserRole>(id % 3),
                               id % 4 != 0, id % 2 == 1));
    }
    for (int64_t id = 1; id <= 6; ++id) {
      repository_.AddExercise(
          Exercise(id, id <= 4 ? db::Difficulty::kEasy : db::Difficulty::kHard,
                   id % 2 == 0 ? "python" : "rust"));
    }
  }

  // Runs `method` and returns its outcome; fails the test unless the outcome
  // was reported exactly once, before the method returned (the fake answers
  // inline).
  template <typename Request, typename Response, typename Method>
  absl::Status Run(Method method, const Request& request, Response* response) {
    int reported = 0;
    absl::Status outcome = absl::InternalError("never reported");
    (service_.*method)(
        request, response,
        std::make_shared<db::CallContext>(clock_.Now() + absl::Seconds(10)),
        [&](absl::Status status) {
          ++reported;
          outcome = std::move(status);
        });
    EXPECT_EQ(reported, 1);
    return outcome;
  }

  absl::StatusCode ActiveUsersCode(const v1::ListActiveUsersRequest& request) {
    v1::ListActiveUsersResponse response;
    return Run(&TutoringService::ListActiveUsers, request, &response).code();
  }

  // A next_page_token of ListActiveUsers with page size 1.
  std::string ActiveUsersToken(v1::Role role, bool pending) {
    v1::ListActiveUsersRequest request;
    request.set_page_size(1);
    request.set_role(role);
    request.set_pending_onboarding_only(pending);
    v1::ListActiveUsersResponse response;
    EXPECT_TRUE(
        Run(&TutoringService::ListActiveUsers, request, &response).ok());
    EXPECT_FALSE(response.next_page_token().empty());
    return response.next_page_token();
  }

  absl::StatusCode GetStreakCode(int64_t user_id, const std::string& zone,
                                 const google::protobuf::Timestamp* as_of) {
    v1::GetStreakRequest request;
    request.set_user_id(user_id);
    request.set_time_zone(zone);
    if (as_of != nullptr) *request.mutable_as_of() = *as_of;
    v1::Streak response;
    return Run(&TutoringService::GetStreak, request, &response).code();
  }

  absl::StatusCode BatchCode(
      const std::vector<int64_t>& ids, const std::string& zone = "",
      const google::protobuf::Timestamp* as_of = nullptr) {
    v1::BatchGetStreaksRequest request;
    for (int64_t id : ids) request.add_user_ids(id);
    request.set_time_zone(zone);
    if (as_of != nullptr) *request.mutable_as_of() = *as_of;
    v1::BatchGetStreaksResponse response;
    return Run(&TutoringService::BatchGetStreaks, request, &response).code();
  }

  FakeRepository repository_;
  FakeClock clock_;
  const PageTokenCodec tokens_;
  const TimeZoneNames zones_;
  const TutoringService service_;
};

// --- Validation: every rule answers INVALID_ARGUMENT before any question ---

TEST_F(ServiceTest, ListActiveUsersRejectsNegativePageSize) {
  v1::ListActiveUsersRequest request;
  request.set_page_size(-3);
  v1::ListActiveUsersResponse response;
  const absl::Status status =
      Run(&TutoringService::ListActiveUsers, request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("page_size"));
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, ListActiveUsersRejectsUnknownRoleNumber) {
  v1::ListActiveUsersRequest request;
  request.set_role(static_cast<v1::Role>(7));
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, ListActiveUsersRejectsGarbageToken) {
  v1::ListActiveUsersRequest request;
  request.set_page_token("garbage!");
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListActiveUsersRejectsTruncatedAndExtendedTokens) {
  const std::string token = ActiveUsersToken(v1::ROLE_UNSPECIFIED, false);
  const int asked = repository_.questions();
  v1::ListActiveUsersRequest request;
  request.set_page_token(token.substr(0, token.size() - 1));
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
  request.set_page_token(token + "A");
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repository_.questions(), asked);
}

TEST_F(ServiceTest, ListActiveUsersRejectsTamperedToken) {
  const std::string token = ActiveUsersToken(v1::ROLE_UNSPECIFIED, false);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  // Byte 8 is the low byte of the last id: point the cursor elsewhere.
  raw[8] = static_cast<char>(raw[8] ^ 0x04);
  v1::ListActiveUsersRequest request;
  request.set_page_token(absl::WebSafeBase64Escape(raw));
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListActiveUsersRejectsTokenReusedWithOtherRole) {
  v1::ListActiveUsersRequest request;
  request.set_page_token(ActiveUsersToken(v1::ROLE_STUDENT, false));
  request.set_role(v1::ROLE_ADMIN);
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest,
       ListActiveUsersRejectsTokenReusedWithOtherOnboardingFilter) {
  v1::ListActiveUsersRequest request;
  request.set_page_token(ActiveUsersToken(v1::ROLE_UNSPECIFIED, false));
  request.set_pending_onboarding_only(true);
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListActiveUsersRejectsTokenFromAnotherRpc) {
  v1::ListUsersByRoleRequest by_role;
  by_role.set_role(v1::ROLE_STUDENT);
  by_role.set_page_size(1);
  v1::ListUsersByRoleResponse by_role_response;
  ASSERT_TRUE(
      Run(&TutoringService::ListUsersByRole, by_role, &by_role_response).ok());
  ASSERT_FALSE(by_role_response.next_page_token().empty());
  v1::ListActiveUsersRequest request;
  request.set_role(v1::ROLE_STUDENT);
  request.set_page_token(by_role_response.next_page_token());
  EXPECT_EQ(ActiveUsersCode(request), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListUsersByRoleRequiresRole) {
  v1::ListUsersByRoleRequest request;
  v1::ListUsersByRoleResponse response;
  const absl::Status status =
      Run(&TutoringService::ListUsersByRole, request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("role"));
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, ListUsersByRoleRejectsUnknownRoleNumber) {
  v1::ListUsersByRoleRequest request;
  request.set_role(static_cast<v1::Role>(42));
  v1::ListUsersByRoleResponse response;
  EXPECT_EQ(Run(&TutoringService::ListUsersByRole, request, &response).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListUsersByRoleRejectsNegativePageSize) {
  v1::ListUsersByRoleRequest request;
  request.set_role(v1::ROLE_ADMIN);
  request.set_page_size(-1);
  v1::ListUsersByRoleResponse response;
  EXPECT_EQ(Run(&TutoringService::ListUsersByRole, request, &response).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListUsersByRoleRejectsTokenReusedWithOtherRole) {
  v1::ListUsersByRoleRequest request;
  request.set_role(v1::ROLE_STUDENT);
  request.set_page_size(1);
  v1::ListUsersByRoleResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListUsersByRole, request, &response).ok());
  request.set_role(v1::ROLE_INSTRUCTOR);
  request.set_page_token(response.next_page_token());
  v1::ListUsersByRoleResponse second;
  EXPECT_EQ(Run(&TutoringService::ListUsersByRole, request, &second).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, GetUserRoleRejectsZeroAndNegativeIds) {
  for (const int64_t id : {int64_t{0}, int64_t{-5}}) {
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    v1::GetUserRoleResponse response;
    EXPECT_EQ(Run(&TutoringService::GetUserRole, request, &response).code(),
              absl::StatusCode::kInvalidArgument)
        << id;
  }
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, ListExercisesRequiresAKnownDifficulty) {
  for (const int difficulty : {0, 4}) {
    v1::ListExercisesRequest request;
    request.set_difficulty(static_cast<v1::Difficulty>(difficulty));
    v1::ListExercisesResponse response;
    EXPECT_EQ(Run(&TutoringService::ListExercises, request, &response).code(),
              absl::StatusCode::kInvalidArgument)
        << difficulty;
  }
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, ListExercisesRejectsLanguageLongerThanTheColumn) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_programming_language(std::string(51, 'x'));
  v1::ListExercisesResponse response;
  EXPECT_EQ(Run(&TutoringService::ListExercises, request, &response).code(),
            absl::StatusCode::kInvalidArgument);
  request.set_programming_language(std::string(50, 'x'));
  EXPECT_TRUE(Run(&TutoringService::ListExercises, request, &response).ok());
}

TEST_F(ServiceTest, ListExercisesRejectsNulInLanguage) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_programming_language(std::string("py\0thon", 7));
  v1::ListExercisesResponse response;
  EXPECT_EQ(Run(&TutoringService::ListExercises, request, &response).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListExercisesRejectsNegativePageSize) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_page_size(-50);
  v1::ListExercisesResponse response;
  EXPECT_EQ(Run(&TutoringService::ListExercises, request, &response).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, ListExercisesRejectsTokenReusedWithOtherLanguage) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_programming_language("python");
  request.set_page_size(1);
  v1::ListExercisesResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListExercises, request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  request.set_programming_language("");
  request.set_page_token(response.next_page_token());
  v1::ListExercisesResponse second;
  EXPECT_EQ(Run(&TutoringService::ListExercises, request, &second).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, GetStreakRejectsZeroUserId) {
  EXPECT_EQ(GetStreakCode(0, "UTC", nullptr),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, GetStreakRejectsEverythingButIanaZoneNames) {
  for (const char* zone : {"+05:00", "UTC+5", "GMT+5:30", "localtime",
                           "Atlantis/Lost_City", "america/new_york", " UTC"}) {
    EXPECT_EQ(GetStreakCode(1, zone, nullptr),
              absl::StatusCode::kInvalidArgument)
        << zone;
  }
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, GetStreakRejectsAsOfOutsideTheTimestampRange) {
  for (const google::protobuf::Timestamp& as_of :
       {Timestamp(1700000000, 1000000000), Timestamp(1700000000, -1),
        Timestamp(253402300800, 0), Timestamp(-62135596801, 0)}) {
    EXPECT_EQ(GetStreakCode(1, "UTC", &as_of),
              absl::StatusCode::kInvalidArgument)
        << as_of.DebugString();
  }
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, GetStreakAcceptsTimestampRangeEdges) {
  const google::protobuf::Timestamp first = Timestamp(-62135596800, 0);
  EXPECT_EQ(GetStreakCode(1, "Pacific/Kiritimati", &first),
            absl::StatusCode::kOk);
  const google::protobuf::Timestamp last = Timestamp(253402300799, 999999999);
  EXPECT_EQ(GetStreakCode(1, "Pacific/Kiritimati", &last),
            absl::StatusCode::kOk);
}

TEST_F(ServiceTest, BatchGetStreaksRejectsEmptyAndOversizedBatches) {
  EXPECT_EQ(BatchCode({}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchCode(std::vector<int64_t>(1001, 1)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repository_.questions(), 0);
  EXPECT_EQ(BatchCode(std::vector<int64_t>(1000, 1)), absl::StatusCode::kOk);
}

TEST_F(ServiceTest, BatchGetStreaksRejectsNonPositiveIds) {
  EXPECT_EQ(BatchCode({1, 2, 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchCode({-1}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repository_.questions(), 0);
}

TEST_F(ServiceTest, BatchGetStreaksRejectsBadZoneAndAsOf) {
  EXPECT_EQ(BatchCode({1}, "GMT+5:30"), absl::StatusCode::kInvalidArgument);
  const google::protobuf::Timestamp as_of = Timestamp(-62135596801, 0);
  EXPECT_EQ(BatchCode({1}, "UTC", &as_of), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repository_.questions(), 0);
}

// --- Paging ---

TEST_F(ServiceTest, PagesWalkEveryMatchingRowOnceInIdOrder) {
  v1::ListActiveUsersRequest request;
  request.set_page_size(2);
  std::vector<int64_t> seen;
  for (int page = 0; page < 20; ++page) {
    v1::ListActiveUsersResponse response;
    ASSERT_TRUE(
        Run(&TutoringService::ListActiveUsers, request, &response).ok());
    for (const v1::User& user : response.users()) seen.push_back(user.id());
    if (response.next_page_token().empty()) break;
    EXPECT_EQ(response.users_size(), 2);
    request.set_page_token(response.next_page_token());
  }
  // Every fourth user is inactive.
  EXPECT_THAT(seen, ElementsAre(1, 2, 3, 5, 6, 7, 9, 10, 11));
}

TEST_F(ServiceTest, PageAsksForOneRowMoreThanItReturns) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_page_size(3);
  v1::ListExercisesResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListExercises, request, &response).ok());
  ASSERT_TRUE(repository_.last_page().has_value());
  EXPECT_EQ(repository_.last_page()->after_id, 0);
  EXPECT_EQ(repository_.last_page()->limit, 4);
  EXPECT_EQ(response.exercises_size(), 3);
  EXPECT_FALSE(response.next_page_token().empty());

  request.set_page_token(response.next_page_token());
  v1::ListExercisesResponse last;
  ASSERT_TRUE(Run(&TutoringService::ListExercises, request, &last).ok());
  EXPECT_EQ(repository_.last_page()->after_id, 3);
  ASSERT_EQ(last.exercises_size(), 1);
  EXPECT_EQ(last.exercises(0).id(), 4);
  EXPECT_EQ(last.next_page_token(), "");
}

TEST_F(ServiceTest, PageSizeZeroMeansFiftyAndLargeSizesAreClamped) {
  v1::ListUsersByRoleRequest request;
  request.set_role(v1::ROLE_STUDENT);
  v1::ListUsersByRoleResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListUsersByRole, request, &response).ok());
  EXPECT_EQ(repository_.last_page()->limit, 51);
  request.set_page_size(5000);
  ASSERT_TRUE(Run(&TutoringService::ListUsersByRole, request, &response).ok());
  EXPECT_EQ(repository_.last_page()->limit, 1001);
}

TEST_F(ServiceTest, FiltersReachTheRepository) {
  v1::ListActiveUsersRequest request;
  request.set_role(v1::ROLE_INSTRUCTOR);
  request.set_pending_onboarding_only(true);
  v1::ListActiveUsersResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListActiveUsers, request, &response).ok());
  const auto& filter = repository_.last_active_users_filter();
  ASSERT_TRUE(filter.has_value());
  EXPECT_EQ(filter->role, db::UserRole::kInstructor);
  EXPECT_TRUE(filter->pending_onboarding_only);
  // Instructors are ids 1, 4, 7, 10; 4 is inactive; pending = even ids.
  ASSERT_EQ(response.users_size(), 1);
  EXPECT_EQ(response.users(0).id(), 10);
}

// --- Conversion ---

TEST_F(ServiceTest, UserRowsBecomeUserMessages) {
  v1::ListUsersByRoleRequest request;
  request.set_role(v1::ROLE_ADMIN);
  request.set_page_size(1);
  v1::ListUsersByRoleResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListUsersByRole, request, &response).ok());
  ASSERT_EQ(response.users_size(), 1);
  const v1::User& user = response.users(0);
  const db::UserRow expected = User(2, db::UserRole::kAdmin, true, false);
  EXPECT_EQ(user.id(), 2);
  EXPECT_EQ(user.email(), expected.email);
  EXPECT_EQ(user.display_name(), expected.display_name);
  EXPECT_EQ(user.role(), v1::ROLE_ADMIN);
  EXPECT_TRUE(user.is_active());
  EXPECT_FALSE(user.onboarding_completed());
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                user.create_time()),
            absl::ToUnixMicros(expected.created_at));
}

TEST_F(ServiceTest, ExerciseRowsBecomeExerciseMessages) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_HARD);
  request.set_programming_language("rust");
  v1::ListExercisesResponse response;
  ASSERT_TRUE(Run(&TutoringService::ListExercises, request, &response).ok());
  ASSERT_EQ(response.exercises_size(), 1);
  const v1::Exercise& exercise = response.exercises(0);
  EXPECT_EQ(exercise.id(), 5);
  EXPECT_EQ(exercise.title(), "Exercise 5");
  EXPECT_EQ(exercise.difficulty(), v1::DIFFICULTY_HARD);
  EXPECT_EQ(exercise.programming_language(), "rust");
  EXPECT_EQ(exercise.create_time().seconds(), 1'600'000'005);
  EXPECT_EQ(exercise.create_time().nanos(), 0);
}

TEST_F(ServiceTest, GetUserRoleAnswersRoleAndActivity) {
  v1::GetUserRoleRequest request;
  request.set_user_id(8);
  v1::GetUserRoleResponse response;
  ASSERT_TRUE(Run(&TutoringService::GetUserRole, request, &response).ok());
  EXPECT_EQ(response.user_id(), 8);
  EXPECT_EQ(response.role(), v1::ROLE_ADMIN);
  EXPECT_FALSE(response.is_active());
}

TEST_F(ServiceTest, MissingUsersAreNotFound) {
  v1::GetUserRoleRequest role_request;
  role_request.set_user_id(987654321);
  v1::GetUserRoleResponse role_response;
  EXPECT_EQ(
      Run(&TutoringService::GetUserRole, role_request, &role_response).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(GetStreakCode(987654321, "UTC", nullptr),
            absl::StatusCode::kNotFound);
  v1::BatchGetStreaksRequest batch;
  for (int64_t id : {1, 99, 2, 98}) batch.add_user_ids(id);
  v1::BatchGetStreaksResponse batch_response;
  const absl::Status status =
      Run(&TutoringService::BatchGetStreaks, batch, &batch_response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("98, 99"));
}

TEST_F(ServiceTest, RepositoryErrorsReachTheCallerUnchanged) {
  for (const absl::Status& error :
       {absl::UnavailableError("database down"),
        absl::ResourceExhaustedError("queue full"),
        absl::DeadlineExceededError("too late"), absl::CancelledError("gone"),
        absl::InternalError("odd answer")}) {
    repository_.FailNextWith(error);
    v1::ListActiveUsersRequest request;
    v1::ListActiveUsersResponse response;
    EXPECT_EQ(Run(&TutoringService::ListActiveUsers, request, &response),
              error);
    EXPECT_EQ(response.users_size(), 0);
  }
}

TEST_F(ServiceTest, CallContextReachesTheRepository) {
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  v1::GetUserRoleResponse response;
  auto call =
      std::make_shared<db::CallContext>(clock_.Now() + absl::Seconds(3));
  service_.GetUserRole(request, &response, call, [](absl::Status) {});
  EXPECT_EQ(repository_.last_call(), call);
}

// --- Streaks ---

TEST_F(ServiceTest, StreakCountsLocalDaysUpToAsOf) {
  // Completions at 23:30 New York time on three consecutive days, then one
  // after as_of that must not count.
  const absl::Time as_of =
      absl::FromCivil(absl::CivilSecond(2026, 3, 10, 12, 0, 0), NewYork());
  for (int day = 7; day <= 9; ++day) {
    repository_.AddCompletion(
        3,
        absl::FromCivil(absl::CivilSecond(2026, 3, day, 23, 30, 0), NewYork()));
  }
  repository_.AddCompletion(3, as_of + absl::Minutes(1));
  v1::GetStreakRequest request;
  request.set_user_id(3);
  request.set_time_zone("America/New_York");
  *request.mutable_as_of() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(as_of));
  v1::Streak streak;
  ASSERT_TRUE(Run(&TutoringService::GetStreak, request, &streak).ok());
  EXPECT_EQ(streak.user_id(), 3);
  EXPECT_EQ(streak.current_days(), 3);  // alive: ends yesterday
  EXPECT_EQ(streak.longest_days(), 3);
  EXPECT_EQ(streak.last_active_date(), "2026-03-09");
  EXPECT_FALSE(streak.active_on_as_of_date());
  ASSERT_TRUE(repository_.last_activity().has_value());
  EXPECT_EQ(repository_.last_activity()->time_zone, "America/New_York");
  EXPECT_EQ(repository_.last_activity()->as_of, as_of);
}

TEST_F(ServiceTest, UnsetAsOfMeansNowAndEmptyZoneMeansUtc) {
  clock_.Advance(absl::Hours(5));
  EXPECT_EQ(GetStreakCode(1, "", nullptr), absl::StatusCode::kOk);
  ASSERT_TRUE(repository_.last_activity().has_value());
  EXPECT_EQ(repository_.last_activity()->as_of, clock_.Now());
  EXPECT_EQ(repository_.last_activity()->time_zone, "UTC");
}

TEST_F(ServiceTest, StreakWithoutActivityIsZeroWithEmptyDate) {
  v1::GetStreakRequest request;
  request.set_user_id(5);
  v1::Streak streak;
  ASSERT_TRUE(Run(&TutoringService::GetStreak, request, &streak).ok());
  EXPECT_EQ(streak.current_days(), 0);
  EXPECT_EQ(streak.longest_days(), 0);
  EXPECT_EQ(streak.last_active_date(), "");
  EXPECT_FALSE(streak.active_on_as_of_date());
}

TEST_F(ServiceTest, BatchAnswersEveryIdInPlaceAndAsksForEachOnce) {
  const absl::Time now = clock_.Now();
  repository_.AddCompletion(2, now - absl::Hours(1));
  repository_.AddCompletion(7, now - absl::Hours(30));
  v1::BatchGetStreaksRequest request;
  for (int64_t id : {7, 2, 7, 1, 2}) request.add_user_ids(id);
  v1::BatchGetStreaksResponse response;
  ASSERT_TRUE(Run(&TutoringService::BatchGetStreaks, request, &response).ok());
  ASSERT_EQ(response.streaks_size(), 5);
  std::vector<int64_t> ids;
  for (const v1::Streak& streak : response.streaks()) {
    ids.push_back(streak.user_id());
  }
  EXPECT_THAT(ids, ElementsAre(7, 2, 7, 1, 2));
  EXPECT_TRUE(response.streaks(1).active_on_as_of_date());
  EXPECT_EQ(response.streaks(3).current_days(), 0);
  EXPECT_EQ(response.streaks(0).current_days(),
            response.streaks(2).current_days());
  ASSERT_TRUE(repository_.last_activity().has_value());
  EXPECT_THAT(repository_.last_activity()->user_ids, ElementsAre(7, 2, 1));
}

// --- The gRPC adapter's deadline rule ---

TEST(CallDeadline, KeepsTheClientsDeadline) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time client = now + absl::Milliseconds(250);
  EXPECT_EQ(CallDeadline(absl::ToChronoTime(client), now, absl::Seconds(10)),
            client);
}

TEST(CallDeadline, NoDeadlineGetsTheDefault) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(CallDeadline(std::chrono::system_clock::time_point::max(), now,
                         absl::Seconds(10)),
            now + absl::Seconds(10));
}

TEST(CallDeadline, AnExpiredDeadlineStaysExpired) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time client = now - absl::Milliseconds(3);
  EXPECT_EQ(CallDeadline(absl::ToChronoTime(client), now, absl::Seconds(10)),
            client);
}

TEST(CallDeadline, AnOverflowedHugeTimeoutCountsAsNone) {
  // What gRPC makes of grpc-timeout 2562047H: an instant in 1677.
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(CallDeadline(std::chrono::system_clock::time_point::min() +
                             std::chrono::hours(1),
                         now, absl::Seconds(10)),
            now + absl::Seconds(10));
}

}  // namespace
}  // namespace tutoring::server
