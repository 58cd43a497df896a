#include "server/call_telemetry.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "server/grpc_status.h"

namespace tutoring::server {
namespace {

TEST(SplitMethodName, SplitsServiceAndMethod) {
  EXPECT_EQ(SplitMethodName("/tutoring.v1.TutoringService/GetStreak"),
            std::make_pair(std::string("tutoring.v1.TutoringService"),
                           std::string("GetStreak")));
  EXPECT_EQ(SplitMethodName("nonsense").first, "unknown");
  EXPECT_EQ(SplitMethodName("/only").first, "unknown");
}

TEST(AcceptedRequestId, TakesShortTokensOnly) {
  EXPECT_EQ(AcceptedRequestId("req-42_a.B"), "req-42_a.B");
  EXPECT_EQ(AcceptedRequestId(""), "");
  EXPECT_EQ(AcceptedRequestId("has space"), "");
  EXPECT_EQ(AcceptedRequestId("new\nline"), "");
  EXPECT_EQ(AcceptedRequestId("\"quoted\""), "");
  EXPECT_EQ(AcceptedRequestId(std::string(65, 'a')), "");
  EXPECT_EQ(AcceptedRequestId(std::string(64, 'a')), std::string(64, 'a'));
}

TEST(AcceptedTraceparent, TakesW3cTraceparentsOnly) {
  const std::string good =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  EXPECT_EQ(AcceptedTraceparent(good), good);
  // Upper-case hex, all-zero ids, version ff, wrong length or separators.
  EXPECT_EQ(AcceptedTraceparent(
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            "");
  EXPECT_EQ(AcceptedTraceparent(
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            "");
  EXPECT_EQ(AcceptedTraceparent(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            "");
  EXPECT_EQ(AcceptedTraceparent(
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "");
  EXPECT_EQ(AcceptedTraceparent(good + "x"), "");
  EXPECT_EQ(AcceptedTraceparent(
                "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "");
}

TEST(NewRequestId, IsSixteenHexDigitsAndVaries) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 16u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CallerMessage, HidesServerFailuresAndCarriesTheRequestId) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::INTERNAL, grpc::StatusCode::UNAVAILABLE,
        grpc::StatusCode::UNKNOWN, grpc::StatusCode::DATA_LOSS,
        grpc::StatusCode::ABORTED, grpc::StatusCode::FAILED_PRECONDITION}) {
    EXPECT_TRUE(HidesDetails(code)) << code;
    const std::string message = CallerMessage(code, "abc123");
    EXPECT_NE(message.find("(request id abc123)"), std::string::npos);
  }
  // The caller's own mistakes keep their message: it says what to fix.
  for (const grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::OK}) {
    EXPECT_FALSE(HidesDetails(code)) << code;
  }
}

}  // namespace
}  // namespace tutoring::server
