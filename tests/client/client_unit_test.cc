// Pure tests of the client/ component: option checks, status mapping,
// tutorctl's command-line parsing and tables. No server, no database.
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/tutorctl/tutorctl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring {
namespace {

using ::testing::ElementsAre;
using tutorctl::Invocation;
using tutorctl::ParseInvocation;
using tutorctl::Subcommand;

absl::StatusCode CreateCode(const ClientOptions& options) {
  return Client::Create(options).status().code();
}

TEST(ClientOptions, DefaultsAreValid) {
  EXPECT_EQ(CreateCode(ClientOptions()), absl::StatusCode::kOk);
}

TEST(ClientOptions, CreateNeedsNoServer) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  EXPECT_EQ(CreateCode(options), absl::StatusCode::kOk);
}

TEST(ClientOptions, MaxAttemptsFromOneToFive) {
  for (int attempts : {1, 2, 5}) {
    ClientOptions options;
    options.retry.max_attempts = attempts;
    EXPECT_EQ(CreateCode(options), absl::StatusCode::kOk) << attempts;
  }
  for (int attempts : {-1, 0, 6}) {
    ClientOptions options;
    options.retry.max_attempts = attempts;
    EXPECT_EQ(CreateCode(options), absl::StatusCode::kInvalidArgument)
        << attempts;
  }
}

TEST(ClientOptions, RejectsBadValues) {
  std::vector<ClientOptions> bad(7);
  bad[0].target = "";
  bad[1].default_deadline = absl::ZeroDuration();
  bad[2].retry.initial_backoff = absl::ZeroDuration();
  bad[3].retry.max_backoff = absl::Milliseconds(-1);
  bad[4].retry.backoff_multiplier = 0;
  bad[5].retry.backoff_multiplier = std::nan("");
  bad[6].retry.initial_backoff = absl::InfiniteDuration();
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(CreateCode(bad[i]), absl::StatusCode::kInvalidArgument) << i;
  }
}

TEST(FromGrpcStatus, KeepsCodeAndMessage) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status = FromGrpcStatus(
        grpc::Status(static_cast<grpc::StatusCode>(code), "why"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), "why");
  }
}

TEST(ServingStatusName, UsesTheProtoNames) {
  EXPECT_EQ(ServingStatusName(ServingStatus::kServing), "SERVING");
  EXPECT_EQ(ServingStatusName(ServingStatus::kNotServing), "NOT_SERVING");
  EXPECT_EQ(ServingStatusName(ServingStatus::kServiceUnknown),
            "SERVICE_UNKNOWN");
  EXPECT_EQ(ServingStatusName(ServingStatus::kUnknown), "UNKNOWN");
}

absl::StatusOr<Invocation> Parse(const std::vector<std::string>& args) {
  return ParseInvocation(args, "default:1");
}

TEST(TutorctlParse, FlagsBeforeAndAfterTheCommandInBothForms) {
  absl::StatusOr<Invocation> invocation =
      Parse({"--json", "--target", "h:2", "list-active-users", "--role=admin",
             "--page_size", "7", "--page-token=abc", "--all-pages",
             "--pending-onboarding-only", "--deadline=250ms"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->subcommand, Subcommand::kListActiveUsers);
  EXPECT_EQ(invocation->target, "h:2");
  EXPECT_TRUE(invocation->json);
  EXPECT_TRUE(invocation->all_pages);
  EXPECT_TRUE(invocation->pending_onboarding_only);
  EXPECT_EQ(invocation->role, v1::ROLE_ADMIN);
  EXPECT_EQ(invocation->page_size, 7);
  EXPECT_EQ(invocation->page_token, "abc");
  EXPECT_EQ(invocation->deadline, absl::Milliseconds(250));
}

TEST(TutorctlParse, DefaultsWithoutFlags) {
  absl::StatusOr<Invocation> invocation = Parse({"health"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->subcommand, Subcommand::kHealth);
  EXPECT_EQ(invocation->target, "default:1");
  EXPECT_EQ(invocation->health_service, "");
  EXPECT_FALSE(invocation->deadline.has_value());
  EXPECT_FALSE(invocation->json);
}

TEST(TutorctlParse, EnumNamesShortOrFullAnyCase) {
  absl::StatusOr<Invocation> role =
      Parse({"list-users-by-role", "--role=ROLE_INSTRUCTOR"});
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(role->role, v1::ROLE_INSTRUCTOR);
  absl::StatusOr<Invocation> difficulty =
      Parse({"list-exercises", "--difficulty=Medium", "--language=go"});
  ASSERT_TRUE(difficulty.ok()) << difficulty.status();
  EXPECT_EQ(difficulty->difficulty, v1::DIFFICULTY_MEDIUM);
  EXPECT_EQ(difficulty->language, "go");
}

TEST(TutorctlParse, UserIdsIncludingNegativeOnesForTheServerToJudge) {
  absl::StatusOr<Invocation> batch =
      Parse({"batch-get-streaks", "3", "-1", "3", "--time-zone=Asia/Tokyo",
             "--as-of=2026-01-12T08:00:00+02:00"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT(batch->user_ids, ElementsAre(3, -1, 3));
  EXPECT_EQ(batch->time_zone, "Asia/Tokyo");
  ASSERT_TRUE(batch->as_of.has_value());
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(*batch->as_of),
            "2026-01-12T06:00:00Z");
}

TEST(TutorctlParse, DoubleDashEndsFlags) {
  absl::StatusOr<Invocation> health = Parse({"health", "--", "--json"});
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->health_service, "--json");
  EXPECT_FALSE(health->json);
}

TEST(TutorctlParse, HelpWinsOverEverythingElse) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"--bogus", "--help"},
                                             {"get-user-role", "-h"}}) {
    absl::StatusOr<Invocation> invocation = Parse(args);
    ASSERT_TRUE(invocation.ok()) << invocation.status();
    EXPECT_TRUE(invocation->help);
  }
}

TEST(TutorctlParse, UsageErrorsAreInvalidArgument) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"--json"},
      {"nope"},
      {"--nope", "health"},
      {"-q", "health"},
      {"health", "a", "b"},
      {"get-user-role"},
      {"get-user-role", "x"},
      {"get-user-role", "99999999999999999999"},
      {"get-streak", "1", "2"},
      {"batch-get-streaks"},
      {"list-active-users", "extra"},
      {"list-users-by-role"},
      {"list-users-by-role", "--role=teacher"},
      {"list-exercises", "--language=go"},
      {"list-exercises", "--difficulty"},
      {"list-active-users", "--difficulty=easy"},
      {"get-user-role", "1", "--all-pages"},
      {"get-streak", "1", "--role=admin"},
      {"list-active-users", "--page-size=2147483648"},
      {"list-active-users", "--json=yes please"},
      {"health", "--target="},
      {"health", "--deadline=-1s"},
      {"health", "--deadline=inf"},
      {"get-streak", "1", "--as-of=2026-01-12"},
  };
  for (const std::vector<std::string>& args : cases) {
    EXPECT_EQ(Parse(args).status().code(), absl::StatusCode::kInvalidArgument)
        << ::testing::PrintToString(args);
  }
}

TEST(TutorctlRun, UsageErrorExits64AndHelpExits0) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(tutorctl::Run({"--nope"}, "x:1", out, err), tutorctl::kExitUsage);
  EXPECT_TRUE(out.str().empty());
  EXPECT_THAT(err.str(), ::testing::HasSubstr(tutorctl::Usage()));

  std::ostringstream help;
  EXPECT_EQ(tutorctl::Run({"--help"}, "x:1", help, err), 0);
  EXPECT_EQ(help.str(), tutorctl::Usage());
}

TEST(TutorctlTable, AlignsColumnsByCodePoints) {
  EXPECT_EQ(
      tutorctl::FormatTable({"ID", "NAME", "X"},
                            {{"1", "Zoë Ångström", "a"}, {"200", "Bob", ""}}),
      "ID   NAME          X\n"
      "1    Zoë Ångström  a\n"
      "200  Bob\n");
}

TEST(TutorctlTable, HeaderOnlyWhenThereAreNoRows) {
  EXPECT_EQ(tutorctl::FormatTable({"ID", "TITLE"}, {}), "ID  TITLE\n");
}

}  // namespace
}  // namespace tutoring
