// 64 concurrent clients x 2,000 mixed calls against the seeded e2e
// database: every call succeeds (or is the expected NOT_FOUND) and every
// answer matches ground truth loaded beforehand with plain SQL.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/e2e/streak_oracle.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

constexpr int kClients = 64;
constexpr int kCallsPerClient = 2000;
constexpr int kChannels = 4;
const char* const kZones[] = {"UTC", "America/New_York", "Asia/Kolkata",
                              "Pacific/Kiritimati"};

struct UserTruth {
  v1::Role role = v1::ROLE_UNSPECIFIED;
  bool active = false;
  bool onboarded = false;
};

struct ExerciseTruth {
  int64_t id = 0;
  v1::Difficulty difficulty = v1::DIFFICULTY_UNSPECIFIED;
  std::string language;
};

// Everything the clients compare against, read once with SQL.
struct Truth {
  std::map<int64_t, UserTruth> users;  // by id, ascending
  int64_t max_user_id = 0;
  std::vector<ExerciseTruth> exercises;  // ascending id
  std::vector<std::string> languages;
  std::vector<int64_t> streak_users;
  absl::Time as_of;
  // streaks[zone index][user] = expected
  std::vector<std::map<int64_t, Expected>> streaks;

  // Ids of the first `n` users matching `keep`, ascending.
  template <typename Keep>
  std::vector<int64_t> FirstUsers(int n, Keep keep) const {
    std::vector<int64_t> ids;
    for (const auto& [id, user] : users) {
      if (static_cast<int>(ids.size()) == n) break;
      if (keep(user)) ids.push_back(id);
    }
    return ids;
  }
};

v1::Role RoleFromText(const std::string& text) {
  if (text == "student") return v1::ROLE_STUDENT;
  if (text == "instructor") return v1::ROLE_INSTRUCTOR;
  return v1::ROLE_ADMIN;
}

Truth LoadTruth(const std::string& url) {
  Truth truth;
  pqxx::connection connection(url);
  {
    pqxx::nontransaction tx(connection);
    for (const pqxx::row& row : tx.exec(
             "SELECT id, role::text, is_active, onboarding_completed FROM users")) {
      truth.users[row[0].as<int64_t>()] = {RoleFromText(row[1].c_str()),
                                           row[2].as<bool>(), row[3].as<bool>()};
    }
    truth.max_user_id = truth.users.rbegin()->first;
    for (const pqxx::row& row : tx.exec(
             "SELECT id, difficulty::text, programming_language FROM exercises "
             "ORDER BY id")) {
      const std::string d = row[1].c_str();
      truth.exercises.push_back(
          {row[0].as<int64_t>(),
           d == "easy" ? v1::DIFFICULTY_EASY
                       : (d == "medium" ? v1::DIFFICULTY_MEDIUM : v1::DIFFICULTY_HARD),
           row[2].c_str()});
    }
    for (const pqxx::row& row : tx.exec(
             "SELECT DISTINCT programming_language FROM exercises ORDER BY 1")) {
      truth.languages.push_back(row[0].c_str());
    }
    truth.as_of = absl::FromUnixMicros(
        tx.exec1("SELECT (extract(epoch FROM max(created_at)) * 1000000)::int8 "
                 "FROM user_exercises")[0]
            .as<int64_t>()) -
        absl::Hours(24 * 3 + 5);
  }
  for (int64_t id = 7; id <= truth.max_user_id && truth.streak_users.size() < 256;
       id += 389) {
    truth.streak_users.push_back(id);
  }
  const std::map<int64_t, std::vector<RawRow>> rows = LoadRows(
      connection, absl::StrCat("{", absl::StrJoin(truth.streak_users, ","), "}"));
  for (const char* zone : kZones) {
    std::map<int64_t, Expected>& by_user = truth.streaks.emplace_back();
    for (const int64_t id : truth.streak_users) {
      const auto it = rows.find(id);
      by_user[id] = Oracle(it == rows.end() ? std::vector<RawRow>{} : it->second,
                           zone, truth.as_of);
    }
  }
  return truth;
}

// One client: `kCallsPerClient` random calls, each checked. Returns the
// number of mismatches and failures, with the first few described.
class Client {
 public:
  Client(v1::TutoringService::Stub& stub, const Truth& truth, uint64_t seed)
      : stub_(stub), truth_(truth), random_(seed) {}

  void Run() {
    for (int i = 0; i < kCallsPerClient; ++i) {
      switch (random_() % 6) {
        case 0: GetUserRole(); break;
        case 1: ListActiveUsers(); break;
        case 2: ListUsersByRole(); break;
        case 3: ListExercises(); break;
        case 4: GetStreak(); break;
        default: BatchGetStreaks(); break;
      }
    }
  }

  int failures() const { return failures_; }
  const std::vector<std::string>& problems() const { return problems_; }
  int calls() const { return calls_; }

 private:
  void Fail(std::string what) {
    ++failures_;
    if (problems_.size() < 5) problems_.push_back(std::move(what));
  }
  bool Check(const grpc::Status& status, const char* rpc) {
    ++calls_;
    if (status.ok()) return true;
    Fail(absl::StrCat(rpc, ": ", status.error_code(), " ", status.error_message()));
    return false;
  }
  int PageSize() { return 1 + static_cast<int>(random_() % 120); }
  v1::Role AnyRole() { return static_cast<v1::Role>(1 + random_() % 3); }

  void GetUserRole() {
    const int64_t id = 1 + static_cast<int64_t>(random_() % (truth_.max_user_id + 20));
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    v1::GetUserRoleResponse response;
    auto context = ContextWithDeadline();
    const grpc::Status status = stub_.GetUserRole(context.get(), request, &response);
    ++calls_;
    const auto it = truth_.users.find(id);
    if (it == truth_.users.end()) {
      if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
        Fail(absl::StrCat("GetUserRole(", id, ") should be NOT_FOUND"));
      }
      return;
    }
    if (!status.ok()) return Fail(absl::StrCat("GetUserRole: ", status.error_message()));
    if (response.role() != it->second.role || response.is_active() != it->second.active) {
      Fail(absl::StrCat("GetUserRole(", id, ") mismatch"));
    }
  }

  void ListActiveUsers() {
    const v1::Role role =
        random_() % 4 == 0 ? v1::ROLE_UNSPECIFIED : AnyRole();
    const bool pending = random_() % 2 == 0;
    const int size = PageSize();
    // Two pages: the second from the first's token.
    const std::vector<int64_t> want = truth_.FirstUsers(
        2 * size, [role, pending](const UserTruth& u) {
          return u.active && (role == v1::ROLE_UNSPECIFIED || u.role == role) &&
                 (!pending || !u.onboarded);
        });
    std::vector<int64_t> got;
    std::string token;
    for (int page = 0; page < 2; ++page) {
      v1::ListActiveUsersRequest request;
      request.set_role(role);
      request.set_pending_onboarding_only(pending);
      request.set_page_size(size);
      request.set_page_token(token);
      v1::ListActiveUsersResponse response;
      auto context = ContextWithDeadline();
      if (!Check(stub_.ListActiveUsers(context.get(), request, &response),
                 "ListActiveUsers")) {
        return;
      }
      for (const v1::User& user : response.users()) got.push_back(user.id());
      token = response.next_page_token();
      if (token.empty()) break;
    }
    if (got != want) Fail("ListActiveUsers ids mismatch");
  }

  void ListUsersByRole() {
    const v1::Role role = AnyRole();
    const int size = PageSize();
    v1::ListUsersByRoleRequest request;
    request.set_role(role);
    request.set_page_size(size);
    v1::ListUsersByRoleResponse response;
    auto context = ContextWithDeadline();
    if (!Check(stub_.ListUsersByRole(context.get(), request, &response),
               "ListUsersByRole")) {
      return;
    }
    std::vector<int64_t> got;
    for (const v1::User& user : response.users()) got.push_back(user.id());
    if (got != truth_.FirstUsers(size, [role](const UserTruth& u) {
          return u.role == role;
        })) {
      Fail("ListUsersByRole ids mismatch");
    }
  }

  void ListExercises() {
    const v1::Difficulty difficulty = static_cast<v1::Difficulty>(1 + random_() % 3);
    const std::string language =
        random_() % 3 == 0 ? ""
                           : truth_.languages[random_() % truth_.languages.size()];
    const int size = PageSize();
    v1::ListExercisesRequest request;
    request.set_difficulty(difficulty);
    request.set_programming_language(language);
    request.set_page_size(size);
    v1::ListExercisesResponse response;
    auto context = ContextWithDeadline();
    if (!Check(stub_.ListExercises(context.get(), request, &response),
               "ListExercises")) {
      return;
    }
    std::vector<int64_t> want;
    for (const ExerciseTruth& e : truth_.exercises) {
      if (static_cast<int>(want.size()) == size) break;
      if (e.difficulty == difficulty && (language.empty() || e.language == language)) {
        want.push_back(e.id);
      }
    }
    std::vector<int64_t> got;
    for (const v1::Exercise& e : response.exercises()) got.push_back(e.id());
    if (got != want) Fail("ListExercises ids mismatch");
  }

  void GetStreak() {
    const size_t zone = random_() % 4;
    const int64_t id = truth_.streak_users[random_() % truth_.streak_users.size()];
    v1::GetStreakRequest request;
    request.set_user_id(id);
    request.set_time_zone(kZones[zone]);
    *request.mutable_as_of() = ToTimestamp(truth_.as_of);
    v1::Streak response;
    auto context = ContextWithDeadline();
    if (!Check(stub_.GetStreak(context.get(), request, &response), "GetStreak")) {
      return;
    }
    if (!(FromProto(response) == truth_.streaks[zone].at(id))) {
      Fail(absl::StrCat("GetStreak(", id, ", ", kZones[zone], ") mismatch"));
    }
  }

  void BatchGetStreaks() {
    const size_t zone = random_() % 4;
    v1::BatchGetStreaksRequest request;
    const int n = 1 + static_cast<int>(random_() % 20);
    for (int i = 0; i < n; ++i) {
      request.add_user_ids(
          truth_.streak_users[random_() % truth_.streak_users.size()]);
    }
    request.set_time_zone(kZones[zone]);
    *request.mutable_as_of() = ToTimestamp(truth_.as_of);
    v1::BatchGetStreaksResponse response;
    auto context = ContextWithDeadline();
    if (!Check(stub_.BatchGetStreaks(context.get(), request, &response),
               "BatchGetStreaks")) {
      return;
    }
    if (response.streaks_size() != n) return Fail("BatchGetStreaks size");
    for (int i = 0; i < n; ++i) {
      if (response.streaks(i).user_id() != request.user_ids(i) ||
          !(FromProto(response.streaks(i)) ==
            truth_.streaks[zone].at(request.user_ids(i)))) {
        return Fail("BatchGetStreaks mismatch");
      }
    }
  }

  v1::TutoringService::Stub& stub_;
  const Truth& truth_;
  std::mt19937_64 random_;
  int failures_ = 0;
  int calls_ = 0;
  std::vector<std::string> problems_;
};

TEST(LoadTest, SixtyFourClientsTimesTwoThousandMixedCallsMatchGroundTruth) {
  const Truth truth = LoadTruth(E2eDatabaseUrl());
  ASSERT_GE(truth.users.size(), 100000u);
  ASSERT_EQ(truth.streak_users.size(), 256u);
  auto harness = ServerHarness::Start(E2eDatabaseUrl());
  ASSERT_NE(harness, nullptr);

  std::vector<std::unique_ptr<v1::TutoringService::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("tutoring.channel", i);  // distinct channels, distinct connections
    stubs.push_back(v1::TutoringService::NewStub(grpc::CreateCustomChannel(
        harness->target(), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(*stubs[i % kChannels], truth, 1000 + i));
  }
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (auto& client : clients) threads.emplace_back([&client] { client->Run(); });
  for (std::thread& t : threads) t.join();
  const absl::Duration elapsed = absl::Now() - start;

  int calls = 0, failures = 0;
  for (const auto& client : clients) {
    calls += client->calls();
    failures += client->failures();
    for (const std::string& problem : client->problems()) ADD_FAILURE() << problem;
  }
  // Lists make one or two calls per step.
  EXPECT_GE(calls, kClients * kCallsPerClient);
  EXPECT_EQ(failures, 0);
  std::cout << calls << " calls in " << absl::FormatDuration(elapsed) << " ("
            << static_cast<int>(calls / absl::ToDoubleSeconds(elapsed))
            << " calls/s; not a benchmark)\n";
}

}  // namespace
}  // namespace tutoring::testing
