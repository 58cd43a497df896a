// libFuzzer target: request validation of every RPC of
// tutoring.v1.TutoringService, through the service's handlers
// (server/service.h) over a FakeRepository, as a gRPC call would reach them
// once its bytes are parsed.
//
// Input: the first byte picks the RPC (modulo 6, in the order of the proto:
// ListActiveUsers, ListUsersByRole, GetUserRole, ListExercises, GetStreak,
// BatchGetStreaks); the rest is the serialized request. Bytes that do not
// parse as that request end the input (gRPC answers those itself). Held for
// every request:
// - the outcome is reported exactly once, before the handler returns (the
//   fake answers inline), and is OK, INVALID_ARGUMENT or NOT_FOUND;
// - INVALID_ARGUMENT exactly when the request breaks a rule of the API
//   contract (checked here field by field, written from the proto's
//   comments), and then before any question reaches the repository;
// - NOT_FOUND exactly for a valid request naming a user that does not exist;
// - OK answers agree with the request: pages no longer than the page size
//   asked for, rows that match the filters, ids ascending, a next page token
//   that continues after the last row, the streaks of the ids asked for in
//   their order.
// The seed corpus holds real requests of each RPC (valid and invalid),
// including page tokens minted with kKey below.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/call_context.h"
#include "server/page_token.h"
#include "server/service.h"
#include "server/time_zones.h"
#include "tests/server/fake_repository.h"
#include "tests/support/fake_clock.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::server {
namespace {

constexpr absl::string_view kKey = "fuzz-request-key";
constexpr char kTzdata[] = "/usr/share/zoneinfo/tzdata.zi";
// Users 1..kUsers and exercises 1..kExercises exist.
constexpr int64_t kUsers = 12;
constexpr int64_t kExercises = 6;

[[noreturn]] void Fail(absl::string_view what, absl::string_view input) {
  std::cerr << "request_fuzzer: " << what << " (input of " << input.size()
            << " bytes)\n";
  std::abort();
}

void Check(bool condition, absl::string_view what, absl::string_view input) {
  if (!condition) Fail(what, input);
}

// The service, its fake collaborators and the input being run.
class Harness {
 public:
  Harness()
      : tokens_(std::string(kKey)),
        zones_(TimeZoneNames::LoadFromFile(kTzdata).value()),
        service_(repository_, tokens_, zones_, clock_) {
    // Roles cycle student, instructor, admin; every fourth inactive; odd ids
    // onboarded. Exercises: 1..4 easy, the rest hard; even ids python.
    for (int64_t id = 1; id <= kUsers; ++id) {
      db::UserRow user;
      user.id = id;
      user.email = absl::StrCat("user", id, "@example.test");
      user.display_name = absl::StrCat("User ", id);
      user.role = static_cast<db::UserRole>(id % 3);
      user.is_active = id % 4 != 0;
      user.onboarding_completed = id % 2 == 1;
      user.created_at = absl::FromUnixSeconds(1'700'000'000 + id);
      repository_.AddUser(user);
      repository_.AddCompletion(id, clock_.Now() - absl::Hours(24 * id));
    }
    for (int64_t id = 1; id <= kExercises; ++id) {
      db::ExerciseRow exercise;
      exercise.id = id;
      exercise.title = absl::StrCat("Exercise ", id);
      exercise.difficulty =
          id <= 4 ? db::Difficulty::kEasy : db::Difficulty::kHard;
      exercise.programming_language = id % 2 == 0 ? "python" : "rust";
      exercise.created_at = absl::FromUnixSeconds(1'600'000'000 + id);
      repository_.AddExercise(exercise);
    }
  }

  const PageTokenCodec& tokens() const { return tokens_; }
  const TimeZoneNames& zones() const { return zones_; }
  int questions() const { return repository_.questions(); }

  // Runs `method` and returns its outcome, checking it was reported once,
  // inline.
  template <typename Request, typename Response, typename Method>
  absl::Status Run(Method method, const Request& request, Response* response,
                   absl::string_view input) {
    int reported = 0;
    absl::Status outcome;
    (service_.*method)(
        request, response,
        std::make_shared<db::CallContext>(clock_.Now() + absl::Seconds(10)),
        [&](absl::Status status) {
          ++reported;
          outcome = std::move(status);
        });
    Check(reported == 1, "the outcome was not reported exactly once, inline",
          input);
    return outcome;
  }

 private:
  testing::FakeRepository repository_;
  testing::FakeClock clock_;
  const PageTokenCodec tokens_;
  const TimeZoneNames zones_;
  const TutoringService service_;
};

// The rules of the API contract, field by field.
bool PageSizeValid(int32_t page_size) { return page_size >= 0; }
int PageLimit(int32_t page_size) {
  if (page_size == 0) return 50;
  return page_size > 1000 ? 1000 : page_size;
}
bool RoleValid(int role) { return role >= 1 && role <= 3; }
bool DifficultyValid(int difficulty) {
  return difficulty >= 1 && difficulty <= 3;
}
bool LanguageValid(const std::string& language) {
  if (language.find('\0') != std::string::npos) return false;
  int code_points = 0;
  for (const char c : language) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;
  }
  return code_points <= 50;
}
bool TokenValid(const Harness& harness, const std::string& token,
                absl::string_view method, std::string filters) {
  return token.empty() ||
         harness.tokens()
             .Decode(token, PageTokenScope{method, std::move(filters)})
             .ok();
}
bool ZoneValid(const Harness& harness, const std::string& zone) {
  return zone.empty() || harness.zones().Resolve("time_zone", zone).ok();
}
bool AsOfValid(bool has_as_of, const google::protobuf::Timestamp& as_of) {
  return !has_as_of || (as_of.seconds() >= -62135596800 &&   // 0001-01-01
                        as_of.seconds() <= 253402300799 &&  // 9999-12-31
                        as_of.nanos() >= 0 && as_of.nanos() <= 999999999);
}
bool UserExists(int64_t id) { return id >= 1 && id <= kUsers; }

// Checks the outcome of a request the rules call `valid`, for which a
// valid request fails NOT_FOUND exactly when `missing`.
void CheckOutcome(const absl::Status& status, bool valid, bool missing,
                  int questions_before, const Harness& harness,
                  absl::string_view input) {
  const absl::StatusCode code = status.code();
  Check(code == absl::StatusCode::kOk ||
            code == absl::StatusCode::kInvalidArgument ||
            code == absl::StatusCode::kNotFound,
        absl::StrCat("unexpected outcome ", status.ToString()), input);
  Check(valid == (code != absl::StatusCode::kInvalidArgument),
        valid ? absl::StrCat("a valid request was refused: ", status.message())
              : "an invalid request was accepted",
        input);
  if (!valid) {
    Check(!status.message().empty(), "INVALID_ARGUMENT without a message",
          input);
    Check(harness.questions() == questions_before,
          "an invalid request reached the repository", input);
    return;
  }
  Check(missing == (code == absl::StatusCode::kNotFound),
        missing ? "a missing user was not NOT_FOUND"
                : "NOT_FOUND for users that exist",
        input);
}

// Rows of a page: at most `limit`, ids ascending, each accepted by `keep`.
template <typename Rows, typename Keep>
void CheckPage(const Rows& rows, int limit, Keep keep,
               absl::string_view input) {
  Check(rows.size() <= limit, "a page longer than its page size", input);
  int64_t previous = 0;
  for (const auto& row : rows) {
    Check(row.id() > previous, "page rows not by id ascending", input);
    Check(keep(row), "a row that does not match the filters", input);
    previous = row.id();
  }
}

// The page after `response`'s, when it has a next_page_token: asked with
// the same request, it must succeed and start after the last row.
template <typename Request, typename Response, typename Method, typename Rows>
void CheckNextPage(Harness& harness, Method method, Request request,
                   const Response& response, const Rows& rows,
                   absl::string_view input) {
  if (response.next_page_token().empty()) return;
  Check(!rows.empty(), "a next_page_token after an empty page", input);
  request.set_page_token(response.next_page_token());
  Response next;
  const absl::Status status = harness.Run(method, request, &next, input);
  Check(status.ok(), "the next_page_token was refused", input);
  const auto& next_rows = [&]() -> const auto& {
    if constexpr (std::is_same_v<Response, v1::ListExercisesResponse>) {
      return next.exercises();
    } else {
      return next.users();
    }
  }();
  Check(next_rows.empty() || next_rows[0].id() > rows[rows.size() - 1].id(),
        "the next page does not start after the last row", input);
}

void ListActiveUsers(Harness& harness, const std::string& bytes,
                     absl::string_view input) {
  v1::ListActiveUsersRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  const bool valid =
      (request.role() == 0 || RoleValid(request.role())) &&
      PageSizeValid(request.page_size()) &&
      TokenValid(harness, request.page_token(),
                 "/tutoring.v1.TutoringService/ListActiveUsers",
                 absl::StrCat("role=", request.role(),
                              ";pending_onboarding_only=",
                              request.pending_onboarding_only() ? 1 : 0));
  v1::ListActiveUsersResponse response;
  const absl::Status status = harness.Run(&TutoringService::ListActiveUsers,
                                          request, &response, input);
  CheckOutcome(status, valid, false, before, harness, input);
  if (!status.ok()) return;
  CheckPage(
      response.users(), PageLimit(request.page_size()),
      [&](const v1::User& user) {
        return user.is_active() &&
               (request.role() == 0 || user.role() == request.role()) &&
               (!request.pending_onboarding_only() ||
                !user.onboarding_completed());
      },
      input);
  CheckNextPage(harness, &TutoringService::ListActiveUsers, request, response,
                response.users(), input);
}

void ListUsersByRole(Harness& harness, const std::string& bytes,
                     absl::string_view input) {
  v1::ListUsersByRoleRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  const bool valid =
      RoleValid(request.role()) && PageSizeValid(request.page_size()) &&
      TokenValid(harness, request.page_token(),
                 "/tutoring.v1.TutoringService/ListUsersByRole",
                 absl::StrCat("role=", request.role()));
  v1::ListUsersByRoleResponse response;
  const absl::Status status = harness.Run(&TutoringService::ListUsersByRole,
                                          request, &response, input);
  CheckOutcome(status, valid, false, before, harness, input);
  if (!status.ok()) return;
  CheckPage(
      response.users(), PageLimit(request.page_size()),
      [&](const v1::User& user) { return user.role() == request.role(); },
      input);
  CheckNextPage(harness, &TutoringService::ListUsersByRole, request, response,
                response.users(), input);
}

void GetUserRole(Harness& harness, const std::string& bytes,
                 absl::string_view input) {
  v1::GetUserRoleRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  v1::GetUserRoleResponse response;
  const absl::Status status =
      harness.Run(&TutoringService::GetUserRole, request, &response, input);
  CheckOutcome(status, request.user_id() > 0, !UserExists(request.user_id()),
               before, harness, input);
  if (!status.ok()) return;
  Check(response.user_id() == request.user_id() &&
            static_cast<int64_t>(response.role()) ==
                1 + request.user_id() % 3 &&
            response.is_active() == (request.user_id() % 4 != 0),
        "GetUserRole answered another user's role", input);
}

void ListExercises(Harness& harness, const std::string& bytes,
                   absl::string_view input) {
  v1::ListExercisesRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  const std::string& language = request.programming_language();
  const bool valid =
      DifficultyValid(request.difficulty()) && LanguageValid(language) &&
      PageSizeValid(request.page_size()) &&
      TokenValid(harness, request.page_token(),
                 "/tutoring.v1.TutoringService/ListExercises",
                 absl::StrCat("difficulty=", request.difficulty(),
                              ";programming_language=", language.size(), ":",
                              language));
  v1::ListExercisesResponse response;
  const absl::Status status = harness.Run(&TutoringService::ListExercises,
                                          request, &response, input);
  CheckOutcome(status, valid, false, before, harness, input);
  if (!status.ok()) return;
  CheckPage(
      response.exercises(), PageLimit(request.page_size()),
      [&](const v1::Exercise& exercise) {
        return exercise.difficulty() == request.difficulty() &&
               (language.empty() ||
                exercise.programming_language() == language);
      },
      input);
  CheckNextPage(harness, &TutoringService::ListExercises, request, response,
                response.exercises(), input);
}

void GetStreak(Harness& harness, const std::string& bytes,
               absl::string_view input) {
  v1::GetStreakRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  const bool valid = request.user_id() > 0 &&
                     ZoneValid(harness, request.time_zone()) &&
                     AsOfValid(request.has_as_of(), request.as_of());
  v1::Streak response;
  const absl::Status status =
      harness.Run(&TutoringService::GetStreak, request, &response, input);
  CheckOutcome(status, valid, !UserExists(request.user_id()), before, harness,
               input);
  if (!status.ok()) return;
  Check(response.user_id() == request.user_id(),
        "GetStreak answered for another user", input);
  Check(response.current_days() >= 0 &&
            response.current_days() <= response.longest_days(),
        "a current streak longer than the longest", input);
}

void BatchGetStreaks(Harness& harness, const std::string& bytes,
                     absl::string_view input) {
  v1::BatchGetStreaksRequest request;
  if (!request.ParseFromString(bytes)) return;
  const int before = harness.questions();
  bool ids_valid = request.user_ids_size() >= 1 &&
                   request.user_ids_size() <= 1000;
  bool missing = false;
  for (const int64_t id : request.user_ids()) {
    ids_valid = ids_valid && id > 0;
    missing = missing || !UserExists(id);
  }
  const bool valid = ids_valid && ZoneValid(harness, request.time_zone()) &&
                     AsOfValid(request.has_as_of(), request.as_of());
  v1::BatchGetStreaksResponse response;
  const absl::Status status = harness.Run(&TutoringService::BatchGetStreaks,
                                          request, &response, input);
  CheckOutcome(status, valid, missing, before, harness, input);
  if (!status.ok()) return;
  Check(response.streaks_size() == request.user_ids_size(),
        "not one streak per id asked for", input);
  for (int i = 0; i < response.streaks_size(); ++i) {
    Check(response.streaks(i).user_id() == request.user_ids(i),
          "streaks not in the order of the ids asked for", input);
  }
}

}  // namespace
}  // namespace tutoring::server

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Invalid UTF-8 in a string field fails the parse, and libprotobuf logs an
  // ERROR line for each: quiet, since that is most inputs.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutoring::server;  // NOLINT(build/namespaces): one call site
  static Harness harness;
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string bytes(input.substr(1));
  switch (data[0] % 6) {
    case 0:
      ListActiveUsers(harness, bytes, input);
      break;
    case 1:
      ListUsersByRole(harness, bytes, input);
      break;
    case 2:
      GetUserRole(harness, bytes, input);
      break;
    case 3:
      ListExercises(harness, bytes, input);
      break;
    case 4:
      GetStreak(harness, bytes, input);
      break;
    case 5:
      BatchGetStreaks(harness, bytes, input);
      break;
  }
  return 0;
}
