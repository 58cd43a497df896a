#include "server/requests.h"

#include "gtest/gtest.h"

namespace tutoring::server {
namespace {

TEST(ResolvePageSize, ZeroMeansFifty) {
  EXPECT_EQ(ResolvePageSize(0).value(), 50);
}

TEST(ResolvePageSize, KeepsSizesUpToOneThousand) {
  EXPECT_EQ(ResolvePageSize(1).value(), 1);
  EXPECT_EQ(ResolvePageSize(999).value(), 999);
  EXPECT_EQ(ResolvePageSize(1000).value(), 1000);
}

TEST(ResolvePageSize, ClampsAboveOneThousand) {
  EXPECT_EQ(ResolvePageSize(1001).value(), 1000);
  EXPECT_EQ(ResolvePageSize(std::numeric_limits<int32_t>::max()).value(), 1000);
}

TEST(ResolvePageSize, RejectsNegative) {
  EXPECT_EQ(ResolvePageSize(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolvePageSize(std::numeric_limits<int32_t>::min()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateId, RejectsZeroAndNegative) {
  EXPECT_EQ(ValidateId("user_id", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateId("user_id", -7).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateId("user_id", 1).ok());
}

TEST(RequiredRole, RejectsUnspecifiedAndUnknownNumbers) {
  EXPECT_EQ(RequiredRole("role", v1::ROLE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequiredRole("role", static_cast<v1::Role>(4)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequiredRole("role", static_cast<v1::Role>(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequiredRole("role", v1::ROLE_ADMIN).value(), db::UserRole::kAdmin);
}

TEST(OptionalRole, UnspecifiedMeansAny) {
  absl::StatusOr<std::optional<db::UserRole>> role =
      OptionalRole("role", v1::ROLE_UNSPECIFIED);
  ASSERT_TRUE(role.ok());
  EXPECT_FALSE(role->has_value());
  EXPECT_EQ(OptionalRole("role", static_cast<v1::Role>(99)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OptionalRole("role", v1::ROLE_INSTRUCTOR).value(),
            db::UserRole::kInstructor);
}

TEST(RequiredDifficulty, RejectsUnspecifiedAndUnknownNumbers) {
  EXPECT_EQ(RequiredDifficulty("difficulty", v1::DIFFICULTY_UNSPECIFIED)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequiredDifficulty("difficulty", static_cast<v1::Difficulty>(9))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RequiredDifficulty("difficulty", v1::DIFFICULTY_HARD).value(),
            db::Difficulty::kHard);
}

TEST(ValidateProgrammingLanguage, CountsCharactersNotBytes) {
  EXPECT_TRUE(ValidateProgrammingLanguage("l", std::string(50, 'x')).ok());
  EXPECT_EQ(ValidateProgrammingLanguage("l", std::string(51, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  std::string fifty_two_byte_chars;
  for (int i = 0; i < 50; ++i) fifty_two_byte_chars += "\xc3\xa9";  // é
  EXPECT_TRUE(ValidateProgrammingLanguage("l", fifty_two_byte_chars).ok());
}

TEST(ValidateProgrammingLanguage, RejectsNul) {
  EXPECT_EQ(ValidateProgrammingLanguage("l", std::string("py\0thon", 7)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResolveAsOf, UnsetMeansNow) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(ResolveAsOf("as_of", nullptr, now).value(), now);
}

TEST(ResolveAsOf, AcceptsTheWholeTimestampRange) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(-62135596800);
  EXPECT_TRUE(ResolveAsOf("as_of", &ts, absl::Now()).ok());
  ts.set_seconds(253402300799);
  ts.set_nanos(999999999);
  EXPECT_EQ(ResolveAsOf("as_of", &ts, absl::Now()).value(),
            absl::FromUnixSeconds(253402300799) + absl::Nanoseconds(999999999));
}

TEST(ResolveAsOf, RejectsOutOfRange) {
  for (auto [seconds, nanos] :
       std::vector<std::pair<int64_t, int32_t>>{{-62135596801, 0},
                                                 {253402300800, 0},
                                                 {0, -1},
                                                 {0, 1000000000}}) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(seconds);
    ts.set_nanos(nanos);
    EXPECT_EQ(ResolveAsOf("as_of", &ts, absl::Now()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << seconds << " " << nanos;
  }
}

}  // namespace
}  // namespace tutoring::server
