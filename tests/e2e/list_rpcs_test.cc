// List RPCs and GetUserRole against ground truth from plain SQL, on the
// seeded e2e database (100,000 users), plus a walk while rows change.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "db/seed/seeder.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

// A row as the test sees it: every field of User / Exercise as text, so the
// server's answer and SQL's can be compared field by field.
using Fields = std::vector<std::string>;
using Rows = std::map<int64_t, Fields>;

std::string TimestampText(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                          absl::FromUnixSeconds(ts.seconds()) +
                              absl::Nanoseconds(ts.nanos()),
                          absl::UTCTimeZone());
}

Fields UserFields(const v1::User& user) {
  return {user.email(),
          user.display_name(),
          v1::Role_Name(user.role()),
          user.is_active() ? "t" : "f",
          user.onboarding_completed() ? "t" : "f",
          TimestampText(user.create_time())};
}

Fields ExerciseFields(const v1::Exercise& exercise) {
  return {exercise.title(), v1::Difficulty_Name(exercise.difficulty()),
          exercise.programming_language(),
          TimestampText(exercise.create_time())};
}

// Ground truth: the same fields computed by PostgreSQL, formatted by it.
constexpr char kUserTruth[] =
    "SELECT id, email, display_name,"
    " 'ROLE_' || upper(role::text), CASE WHEN is_active THEN 't' ELSE 'f' END,"
    " CASE WHEN onboarding_completed THEN 't' ELSE 'f' END,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " FROM users WHERE ";
constexpr char kExerciseTruth[] =
    "SELECT id, title, 'DIFFICULTY_' || upper(difficulty::text),"
    " programming_language,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " FROM exercises WHERE ";

Rows Truth(const std::string& url, const std::string& select,
           const std::string& where) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  Rows rows;
  for (const pqxx::row& row : tx.exec(select + where + " ORDER BY id")) {
    Fields fields;
    for (pqxx::row::size_type i = 1; i < row.size(); ++i) {
      fields.push_back(row[i].c_str());
    }
    rows[row[0].as<int64_t>()] = std::move(fields);
  }
  return rows;
}

// One page: requested size and token in, rows and next token out.
struct Page {
  std::vector<std::pair<int64_t, Fields>> rows;
  std::string next_page_token;
};
using Fetch = std::function<Page(int32_t page_size, const std::string& token)>;

// Walks every page with the given page sizes (cycled), checks the paging
// rules, and returns the rows in the order received.
std::vector<std::pair<int64_t, Fields>> Walk(const Fetch& fetch,
                                             const std::vector<int32_t>& sizes) {
  std::vector<std::pair<int64_t, Fields>> all;
  std::string token;
  for (size_t page = 0;; ++page) {
    const int32_t requested = sizes[page % sizes.size()];
    const int expected = requested == 0 ? 50 : std::min(requested, 1000);
    Page result = fetch(requested, token);
    if (!result.next_page_token.empty()) {
      EXPECT_EQ(static_cast<int>(result.rows.size()), expected)
          << "page " << page << " is not the last but is short";
    } else {
      EXPECT_LE(static_cast<int>(result.rows.size()), expected);
    }
    for (auto& row : result.rows) all.push_back(std::move(row));
    if (result.next_page_token.empty()) break;
    token = result.next_page_token;
    if (page > 200000) {
      ADD_FAILURE() << "walk does not end";
      break;
    }
  }
  return all;
}

void ExpectSameRows(const std::vector<std::pair<int64_t, Fields>>& got,
                    const Rows& want) {
  ASSERT_EQ(got.size(), want.size());
  auto it = want.begin();
  for (size_t i = 0; i < got.size(); ++i, ++it) {
    ASSERT_EQ(got[i].first, it->first) << "row " << i;
    ASSERT_EQ(got[i].second, it->second) << "id " << it->first;
  }
}

class ListRpcsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    harness_ = ServerHarness::Start(E2eDatabaseUrl()).release();
    ASSERT_NE(harness_, nullptr);
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }

  static Fetch ActiveUsers(v1::Role role, bool pending) {
    return [role, pending](int32_t page_size, const std::string& token) {
      v1::ListActiveUsersRequest request;
      request.set_role(role);
      request.set_pending_onboarding_only(pending);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::ListActiveUsersResponse response;
      auto context = ContextWithDeadline();
      const grpc::Status status =
          harness_->stub().ListActiveUsers(context.get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      Page page;
      for (const v1::User& user : response.users()) {
        page.rows.emplace_back(user.id(), UserFields(user));
      }
      page.next_page_token = response.next_page_token();
      return page;
    };
  }

  static Fetch UsersByRole(v1::Role role) {
    return [role](int32_t page_size, const std::string& token) {
      v1::ListUsersByRoleRequest request;
      request.set_role(role);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::ListUsersByRoleResponse response;
      auto context = ContextWithDeadline();
      const grpc::Status status =
          harness_->stub().ListUsersByRole(context.get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      Page page;
      for (const v1::User& user : response.users()) {
        page.rows.emplace_back(user.id(), UserFields(user));
      }
      page.next_page_token = response.next_page_token();
      return page;
    };
  }

  static Fetch Exercises(v1::Difficulty difficulty, std::string language) {
    return [difficulty, language](int32_t page_size, const std::string& token) {
      v1::ListExercisesRequest request;
      request.set_difficulty(difficulty);
      request.set_programming_language(language);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::ListExercisesResponse response;
      auto context = ContextWithDeadline();
      const grpc::Status status =
          harness_->stub().ListExercises(context.get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      Page page;
      for (const v1::Exercise& exercise : response.exercises()) {
        page.rows.emplace_back(exercise.id(), ExerciseFields(exercise));
      }
      page.next_page_token = response.next_page_token();
      return page;
    };
  }

  static ServerHarness* harness_;
};

ServerHarness* ListRpcsTest::harness_ = nullptr;

const std::vector<std::pair<v1::Role, std::string>> kRoles = {
    {v1::ROLE_STUDENT, "student"},
    {v1::ROLE_INSTRUCTOR, "instructor"},
    {v1::ROLE_ADMIN, "admin"}};

TEST_F(ListRpcsTest, ListActiveUsersReturnsEveryActiveUserOnce) {
  const Rows truth = Truth(E2eDatabaseUrl(), kUserTruth, "is_active");
  ASSERT_GT(truth.size(), 50000u);
  ExpectSameRows(Walk(ActiveUsers(v1::ROLE_UNSPECIFIED, false), {997}), truth);
}

TEST_F(ListRpcsTest, ListActiveUsersFiltersByRoleAtOddPageSizes) {
  for (const auto& [role, name] : kRoles) {
    const Rows truth = Truth(E2eDatabaseUrl(), kUserTruth,
                             "is_active AND role = '" + name + "'");
    ASSERT_FALSE(truth.empty());
    const std::vector<int32_t> sizes =
        role == v1::ROLE_ADMIN ? std::vector<int32_t>{7, 13}
                               : std::vector<int32_t>{1000, 333};
    ExpectSameRows(Walk(ActiveUsers(role, false), sizes), truth);
  }
}

TEST_F(ListRpcsTest, ListActiveUsersPendingOnboardingOnly) {
  const Rows truth = Truth(E2eDatabaseUrl(), kUserTruth,
                           "is_active AND NOT onboarding_completed");
  ASSERT_FALSE(truth.empty());
  ExpectSameRows(Walk(ActiveUsers(v1::ROLE_UNSPECIFIED, true), {501, 1000}),
                 truth);
  const Rows admins = Truth(
      E2eDatabaseUrl(), kUserTruth,
      "is_active AND NOT onboarding_completed AND role = 'admin'");
  ASSERT_FALSE(admins.empty());
  ExpectSameRows(Walk(ActiveUsers(v1::ROLE_ADMIN, true), {3}), admins);
}

TEST_F(ListRpcsTest, ListUsersByRoleIncludesInactiveUsers) {
  for (const auto& [role, name] : kRoles) {
    const Rows truth =
        Truth(E2eDatabaseUrl(), kUserTruth, "role = '" + name + "'");
    ASSERT_FALSE(truth.empty());
    const std::vector<int32_t> sizes =
        role == v1::ROLE_ADMIN ? std::vector<int32_t>{11}
                               : std::vector<int32_t>{999, 1000};
    const auto walked = Walk(UsersByRole(role), sizes);
    ExpectSameRows(walked, truth);
    EXPECT_TRUE(std::any_of(walked.begin(), walked.end(), [](const auto& row) {
      return row.second[3] == "f";
    })) << "no inactive " << name << " seen";
  }
}

TEST_F(ListRpcsTest, ListExercisesByDifficultyAndLanguage) {
  pqxx::connection connection(E2eDatabaseUrl());
  pqxx::nontransaction tx(connection);
  const pqxx::result languages =
      tx.exec("SELECT DISTINCT programming_language FROM exercises ORDER BY 1");
  ASSERT_GE(languages.size(), 10u);
  for (const auto& [difficulty, name] :
       std::vector<std::pair<v1::Difficulty, std::string>>{
           {v1::DIFFICULTY_EASY, "easy"},
           {v1::DIFFICULTY_MEDIUM, "medium"},
           {v1::DIFFICULTY_HARD, "hard"}}) {
    ExpectSameRows(Walk(Exercises(difficulty, ""), {97, 0}),
                   Truth(E2eDatabaseUrl(), kExerciseTruth,
                         "difficulty = '" + name + "'"));
    for (const pqxx::row& language : languages) {
      const std::string lang = language[0].c_str();
      ExpectSameRows(
          Walk(Exercises(difficulty, lang), {13}),
          Truth(E2eDatabaseUrl(), kExerciseTruth,
                "difficulty = '" + name + "' AND programming_language = " +
                    tx.quote(lang)));
    }
  }
}

TEST_F(ListRpcsTest, UnknownLanguageGivesOneEmptyPage) {
  const Page page = Exercises(v1::DIFFICULTY_EASY, "cobol")(10, "");
  EXPECT_TRUE(page.rows.empty());
  EXPECT_TRUE(page.next_page_token.empty());
}

TEST_F(ListRpcsTest, PageSizeZeroMeansFifty) {
  const Page page = UsersByRole(v1::ROLE_STUDENT)(0, "");
  EXPECT_EQ(page.rows.size(), 50u);
  EXPECT_FALSE(page.next_page_token.empty());
}

TEST_F(ListRpcsTest, PageSizeAboveOneThousandIsClamped) {
  const Page page = ActiveUsers(v1::ROLE_UNSPECIFIED, false)(5000, "");
  EXPECT_EQ(page.rows.size(), 1000u);
  const Page max_page = ActiveUsers(v1::ROLE_UNSPECIFIED, false)(
      std::numeric_limits<int32_t>::max(), "");
  EXPECT_EQ(max_page.rows.size(), 1000u);
}

TEST_F(ListRpcsTest, PageSizeMayChangeBetweenPages) {
  const Rows truth = Truth(E2eDatabaseUrl(), kUserTruth, "role = 'instructor'");
  ExpectSameRows(Walk(UsersByRole(v1::ROLE_INSTRUCTOR), {1, 50, 0, 1000, 5000, 7}),
                 truth);
}

TEST_F(ListRpcsTest, GetUserRoleMatchesSqlForSampledUsers) {
  pqxx::connection connection(E2eDatabaseUrl());
  pqxx::nontransaction tx(connection);
  const pqxx::result users = tx.exec(
      "SELECT id, 'ROLE_' || upper(role::text), is_active FROM users "
      "WHERE id % 97 = 3 ORDER BY id");
  ASSERT_GT(users.size(), 500u);
  int inactive = 0;
  for (const pqxx::row& row : users) {
    v1::GetUserRoleRequest request;
    request.set_user_id(row[0].as<int64_t>());
    v1::GetUserRoleResponse response;
    auto context = ContextWithDeadline();
    ASSERT_TRUE(
        harness_->stub().GetUserRole(context.get(), request, &response).ok());
    EXPECT_EQ(response.user_id(), row[0].as<int64_t>());
    EXPECT_EQ(v1::Role_Name(response.role()), row[1].c_str());
    EXPECT_EQ(response.is_active(), row[2].as<bool>());
    if (!response.is_active()) ++inactive;
  }
  EXPECT_GT(inactive, 0);
  const int64_t beyond =
      tx.exec1("SELECT max(id) + 1 FROM users")[0].as<int64_t>();
  v1::GetUserRoleRequest request;
  request.set_user_id(beyond);
  v1::GetUserRoleResponse response;
  auto context = ContextWithDeadline();
  EXPECT_EQ(harness_->stub().GetUserRole(context.get(), request, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Keyset pagination while rows are inserted and deleted between pages: no
// row twice, none skipped among rows that existed for the whole walk, and
// rows inserted above the cursor appear.
TEST(ListRpcsWhileWritingTest, WalkSurvivesInsertsAndDeletes) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("walk_writes");
  ASSERT_TRUE(db.ok()) << db.status();
  db::SeedOptions seed;
  seed.users = 3000;
  seed.exercises = 200;
  ASSERT_TRUE(db::SeedDatabase((*db)->url(), seed).ok());
  auto harness = ServerHarness::Start((*db)->url());
  ASSERT_NE(harness, nullptr);

  pqxx::connection writer((*db)->url());
  std::set<int64_t> initial;
  {
    pqxx::nontransaction tx(writer);
    for (const pqxx::row& row : tx.exec("SELECT id FROM users WHERE is_active")) {
      initial.insert(row[0].as<int64_t>());
    }
  }
  std::set<int64_t> deleted, inserted, seen;
  std::mt19937_64 random(7);
  std::string token;
  int64_t cursor = 0;
  for (int page = 0;; ++page) {
    v1::ListActiveUsersRequest request;
    request.set_page_size(37);
    request.set_page_token(token);
    v1::ListActiveUsersResponse response;
    auto context = ContextWithDeadline();
    ASSERT_TRUE(
        harness->stub().ListActiveUsers(context.get(), request, &response).ok());
    for (const v1::User& user : response.users()) {
      EXPECT_TRUE(seen.insert(user.id()).second) << "repeated " << user.id();
      EXPECT_GT(user.id(), cursor) << "out of order";
      cursor = user.id();
    }
    if (response.next_page_token().empty()) break;
    token = response.next_page_token();
    // Between pages: delete two users on either side of the cursor, insert
    // one active user (its id is above every existing one).
    pqxx::work tx(writer);
    for (int i = 0; i < 2; ++i) {
      const pqxx::result victim = tx.exec_params(
          "SELECT id FROM users WHERE is_active AND id <> ALL($1::int8[]) "
          "ORDER BY abs(id - $2), random() LIMIT 1",
          "{0}", cursor + static_cast<int64_t>(random() % 200) - 100);
      if (!victim.empty()) {
        const int64_t id = victim[0][0].as<int64_t>();
        tx.exec_params0("DELETE FROM users WHERE id = $1", id);
        deleted.insert(id);
      }
    }
    inserted.insert(tx.exec_params1(
                          "INSERT INTO users (email, display_name, is_active) "
                          "VALUES ($1, 'Inserted', true) RETURNING id",
                          absl::StrCat("inserted", page, "@example.test"))[0]
                        .as<int64_t>());
    tx.commit();
  }
  ASSERT_GT(deleted.size(), 50u);
  for (int64_t id : initial) {
    if (deleted.count(id) == 0) {
      EXPECT_EQ(seen.count(id), 1u) << "skipped " << id;
    }
  }
  // Near the end of the walk the victims may be rows this walk inserted.
  for (int64_t id : inserted) {
    if (deleted.count(id) == 0) {
      EXPECT_EQ(seen.count(id), 1u) << "inserted row " << id << " missing";
    }
  }
  for (int64_t id : seen) {
    EXPECT_TRUE(initial.count(id) == 1 || inserted.count(id) == 1);
  }
}

}  // namespace
}  // namespace tutoring::testing
