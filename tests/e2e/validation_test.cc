// The API contract's errors over a real socket and database: one
// INVALID_ARGUMENT per RPC (the status and message as a gRPC client sees
// them), page tokens minted and checked by the real server, NOT_FOUND from
// real rows, and Timestamp edges PostgreSQL must handle. Every validation
// rule on its own is unit-tested in tests/server/service_test.cc.
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using grpc::StatusCode;

class ValidationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        CreateMigratedDatabase("validation");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pqxx::connection connection(db_->url());
    pqxx::work tx(connection);
    // A few rows per list, so first pages carry next_page_tokens.
    tx.exec0(
        "INSERT INTO users (email, display_name, role, is_active) "
        "SELECT 'u' || g || '@example.test', 'User ' || g,"
        " (ARRAY['student','instructor','admin'])[1 + g % 3]::user_role, true "
        "FROM generate_series(1, 12) g");
    tx.exec0(
        "INSERT INTO exercises (title, difficulty, programming_language) "
        "SELECT 'Exercise ' || g, 'easy', 'python' FROM generate_series(1, 6) "
        "g");
    tx.commit();
    harness_ = ServerHarness::Start(db_->url()).release();
    ASSERT_NE(harness_, nullptr);
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  static v1::TutoringService::Stub& stub() { return harness_->stub(); }

  // A valid next_page_token of ListActiveUsers with page_size 1.
  static std::string ActiveUsersToken(v1::Role role, bool pending) {
    v1::ListActiveUsersRequest request;
    request.set_page_size(1);
    request.set_role(role);
    request.set_pending_onboarding_only(pending);
    v1::ListActiveUsersResponse response;
    auto context = ContextWithDeadline();
    EXPECT_TRUE(stub().ListActiveUsers(context.get(), request, &response).ok());
    EXPECT_FALSE(response.next_page_token().empty());
    return response.next_page_token();
  }

  static StatusCode ListActiveUsersWithToken(
      const std::string& token, v1::Role role = v1::ROLE_UNSPECIFIED,
      bool pending = false) {
    v1::ListActiveUsersRequest request;
    request.set_page_token(token);
    request.set_role(role);
    request.set_pending_onboarding_only(pending);
    v1::ListActiveUsersResponse response;
    auto context = ContextWithDeadline();
    const grpc::Status status =
        stub().ListActiveUsers(context.get(), request, &response);
    // A rejected token must never yield rows.
    if (!status.ok()) {
      EXPECT_EQ(response.users_size(), 0);
    }
    return status.error_code();
  }

  static StatusCode GetStreakCode(int64_t user_id, const std::string& zone,
                                  const google::protobuf::Timestamp* as_of) {
    v1::GetStreakRequest request;
    request.set_user_id(user_id);
    request.set_time_zone(zone);
    if (as_of != nullptr) *request.mutable_as_of() = *as_of;
    v1::Streak response;
    auto context = ContextWithDeadline();
    return stub().GetStreak(context.get(), request, &response).error_code();
  }

  static StatusCode BatchCode(
      const std::vector<int64_t>& ids, const std::string& zone = "",
      const google::protobuf::Timestamp* as_of = nullptr) {
    v1::BatchGetStreaksRequest request;
    for (int64_t id : ids) request.add_user_ids(id);
    request.set_time_zone(zone);
    if (as_of != nullptr) *request.mutable_as_of() = *as_of;
    v1::BatchGetStreaksResponse response;
    auto context = ContextWithDeadline();
    const grpc::Status status =
        stub().BatchGetStreaks(context.get(), request, &response);
    if (!status.ok()) {
      EXPECT_EQ(response.streaks_size(), 0);
    }
    return status.error_code();
  }

  static TestDatabase* db_;
  static ServerHarness* harness_;
};

TestDatabase* ValidationTest::db_ = nullptr;
ServerHarness* ValidationTest::harness_ = nullptr;

google::protobuf::Timestamp Timestamp(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// --- ListActiveUsers ---

TEST_F(ValidationTest, ListActiveUsersRejectsNegativePageSize) {
  v1::ListActiveUsersRequest request;
  request.set_page_size(-3);
  v1::ListActiveUsersResponse response;
  auto context = ContextWithDeadline();
  const grpc::Status status =
      stub().ListActiveUsers(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("page_size"), std::string::npos);
}

TEST_F(ValidationTest, ListActiveUsersRejectsTamperedToken) {
  const std::string token = ActiveUsersToken(v1::ROLE_UNSPECIFIED, false);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  // Point the cursor elsewhere: byte 8 is the low byte of the last id.
  raw[8] = static_cast<char>(raw[8] ^ 0x04);
  EXPECT_EQ(ListActiveUsersWithToken(absl::WebSafeBase64Escape(raw)),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ValidationTest, ListActiveUsersRejectsTokenFromAnotherRpc) {
  v1::ListUsersByRoleRequest request;
  request.set_role(v1::ROLE_STUDENT);
  request.set_page_size(1);
  v1::ListUsersByRoleResponse response;
  auto context = ContextWithDeadline();
  ASSERT_TRUE(stub().ListUsersByRole(context.get(), request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  EXPECT_EQ(
      ListActiveUsersWithToken(response.next_page_token(), v1::ROLE_STUDENT),
      StatusCode::INVALID_ARGUMENT);
}

// --- ListUsersByRole ---

TEST_F(ValidationTest, ListUsersByRoleRequiresRole) {
  v1::ListUsersByRoleRequest request;
  v1::ListUsersByRoleResponse response;
  auto context = ContextWithDeadline();
  const grpc::Status status =
      stub().ListUsersByRole(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("role"), std::string::npos);
}

// --- GetUserRole ---

TEST_F(ValidationTest, GetUserRoleRejectsNegativeId) {
  v1::GetUserRoleRequest request;
  request.set_user_id(-5);
  v1::GetUserRoleResponse response;
  auto context = ContextWithDeadline();
  EXPECT_EQ(stub().GetUserRole(context.get(), request, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ValidationTest, GetUserRoleOfMissingUserIsNotFound) {
  v1::GetUserRoleRequest request;
  request.set_user_id(987654321);
  v1::GetUserRoleResponse response;
  auto context = ContextWithDeadline();
  EXPECT_EQ(stub().GetUserRole(context.get(), request, &response).error_code(),
            StatusCode::NOT_FOUND);
}

// --- ListExercises ---

TEST_F(ValidationTest, ListExercisesRejectsNulInLanguage) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_programming_language(std::string("py\0thon", 7));
  v1::ListExercisesResponse response;
  auto context = ContextWithDeadline();
  EXPECT_EQ(
      stub().ListExercises(context.get(), request, &response).error_code(),
      StatusCode::INVALID_ARGUMENT);
}

// --- GetStreak ---

TEST_F(ValidationTest, GetStreakRejectsUnknownZone) {
  EXPECT_EQ(GetStreakCode(1, "Atlantis/Lost_City", nullptr),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ValidationTest, GetStreakRejectsNanosOutOfRange) {
  const google::protobuf::Timestamp as_of = Timestamp(1700000000, 1000000000);
  EXPECT_EQ(GetStreakCode(1, "UTC", &as_of), StatusCode::INVALID_ARGUMENT);
  const google::protobuf::Timestamp negative = Timestamp(1700000000, -1);
  EXPECT_EQ(GetStreakCode(1, "UTC", &negative), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ValidationTest, GetStreakOfMissingUserIsNotFound) {
  EXPECT_EQ(GetStreakCode(987654321, "UTC", nullptr), StatusCode::NOT_FOUND);
}

TEST_F(ValidationTest, GetStreakAcceptsTimestampRangeEdges) {
  const google::protobuf::Timestamp first = Timestamp(-62135596800, 0);
  EXPECT_EQ(GetStreakCode(1, "Pacific/Kiritimati", &first), StatusCode::OK);
  const google::protobuf::Timestamp last = Timestamp(253402300799, 999999999);
  EXPECT_EQ(GetStreakCode(1, "Pacific/Kiritimati", &last), StatusCode::OK);
}

// --- BatchGetStreaks ---

TEST_F(ValidationTest, BatchGetStreaksRejectsMoreThanOneThousandIds) {
  EXPECT_EQ(BatchCode(std::vector<int64_t>(1001, 1)),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BatchCode(std::vector<int64_t>(1000, 1)), StatusCode::OK);
}

TEST_F(ValidationTest, BatchGetStreaksWithAnyMissingUserIsNotFound) {
  EXPECT_EQ(BatchCode({1, 2, 987654321}), StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace tutoring::testing
