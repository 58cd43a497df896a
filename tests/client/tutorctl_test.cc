// Runs the tutorctl binary (path from TUTORCTL_BIN) as a child process
// against a live server over the fixture database: JSON output parses and
// equals plain SQL, tables hold the rows, --all-pages walks every page, and
// the exit status is 64 for usage errors (one line on stderr), else the gRPC
// code. A fake server
// that never answers (or reports NOT_SERVING) covers --deadline and health.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/live_server.h"
#include "tests/client/sql_truth.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

MATCHER_P(EqualsProto, expected, "") {
  return MessageDifferencer::Equals(arg, expected);
}

// Runs tutorctl with `args`; the child's environment is this process's
// without TUTORING_TARGET, plus `env` ("NAME=value").
ProcessResult RunTutorctl(const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {BinaryPath("TUTORCTL_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env, {"TUTORING_TARGET"});
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Parses one line of --json output as `Message`; fails the test if it does
// not parse.
template <typename Message>
Message ParseJson(const std::string& line) {
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << line;
  return message;
}

// The code-point columns at which the cells of a table line start (cells are
// separated by two or more spaces).
std::vector<size_t> CellStarts(const std::string& line) {
  std::vector<size_t> starts;
  size_t column = 0;
  int spaces = 0;
  bool at_start = true;
  for (unsigned char c : line) {
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    if (c == ' ') {
      ++spaces;
    } else {
      if (at_start || spaces >= 2) starts.push_back(column);
      spaces = 0;
      at_start = false;
    }
    ++column;
  }
  return starts;
}

// Every line of `table` has its cells where the header has its columns.
void ExpectAligned(const std::vector<std::string>& table) {
  ASSERT_THAT(table, Not(IsEmpty()));
  const std::vector<size_t> header = CellStarts(table[0]);
  for (size_t i = 1; i < table.size(); ++i) {
    EXPECT_EQ(CellStarts(table[i]), header) << table[i];
  }
}

class TutorctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<LiveServer>> server =
        LiveServer::Start("tutorctl");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static std::string TargetFlag() {
    return absl::StrCat("--target=", server_->target());
  }
  static SqlTruth truth() { return SqlTruth(server_->database_url()); }

  // tutorctl with --target and `args`.
  static ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), TargetFlag());
    return RunTutorctl(args);
  }

  static inline std::unique_ptr<LiveServer> server_;
};

TEST_F(TutorctlTest, JsonAllPagesWalksEveryPageAndMatchesSql) {
  const std::vector<v1::User> expected =
      truth().ActiveUsers(v1::ROLE_UNSPECIFIED, false);
  ASSERT_THAT(expected, SizeIs(130));
  ProcessResult result =
      Run({"--json", "--all-pages", "--page-size=40", "list-active-users"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, IsEmpty());
  const std::vector<std::string> lines = Lines(result.out);
  // 130 rows in pages of 40: three full pages and a last one of 10.
  ASSERT_THAT(lines, SizeIs(4));
  std::vector<v1::User> users;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto page = ParseJson<v1::ListActiveUsersResponse>(lines[i]);
    EXPECT_EQ(page.users_size(), i + 1 < lines.size() ? 40 : 10);
    EXPECT_EQ(page.next_page_token().empty(), i + 1 == lines.size());
    users.insert(users.end(), page.users().begin(), page.users().end());
  }
  ASSERT_EQ(users.size(), expected.size());
  for (size_t i = 0; i < users.size(); ++i) {
    EXPECT_THAT(users[i], EqualsProto(expected[i])) << i;
  }
}

TEST_F(TutorctlTest, WithoutAllPagesPrintsOnePageAndItsToken) {
  const std::vector<v1::User> expected =
      truth().ActiveUsers(v1::ROLE_STUDENT, false);
  ASSERT_GT(expected.size(), 20u);
  ProcessResult first = Run({"list-active-users", "--role", "student",
                             "--page-size", "10", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_THAT(Lines(first.out), SizeIs(1));
  const auto page1 = ParseJson<v1::ListActiveUsersResponse>(first.out);
  ASSERT_EQ(page1.users_size(), 10);
  ASSERT_FALSE(page1.next_page_token().empty());

  ProcessResult second =
      Run({"list-active-users", "--role=student", "--page-size=10", "--json",
           absl::StrCat("--page-token=", page1.next_page_token())});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto page2 = ParseJson<v1::ListActiveUsersResponse>(second.out);
  ASSERT_EQ(page2.users_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(page1.users(i), EqualsProto(expected[i]));
    EXPECT_THAT(page2.users(i), EqualsProto(expected[10 + i]));
  }
}

TEST_F(TutorctlTest, TableHoldsEveryRowAligned) {
  const std::vector<v1::User> expected = truth().UsersByRole(v1::ROLE_ADMIN);
  ProcessResult result = Run(
      {"list-users-by-role", "--role=admin", "--all-pages", "--page-size=7"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), expected.size() + 1);
  EXPECT_THAT(lines[0], StartsWith("ID"));
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::vector<std::string> cells =
        absl::StrSplit(lines[i + 1], "  ", absl::SkipEmpty());
    ASSERT_THAT(cells, SizeIs(7)) << lines[i + 1];
    EXPECT_EQ(absl::StripAsciiWhitespace(cells[0]),
              absl::StrCat(expected[i].id()));
    EXPECT_EQ(absl::StripAsciiWhitespace(cells[1]), expected[i].email());
    EXPECT_EQ(absl::StripAsciiWhitespace(cells[2]), expected[i].display_name());
    EXPECT_EQ(absl::StripAsciiWhitespace(cells[3]), "admin");
    EXPECT_EQ(absl::StripAsciiWhitespace(cells[4]),
              expected[i].is_active() ? "true" : "false");
  }
  ExpectAligned(lines);
}

TEST_F(TutorctlTest, TableOfOnePageEndsWithTheNextPageToken) {
  ProcessResult result = Run({"list-active-users", "--page-size=3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_THAT(lines, SizeIs(5));  // header, 3 rows, token
  // Alignment holds across a non-ASCII name (user 6 is "Zoë Ångström").
  ExpectAligned({lines.begin(), lines.begin() + 4});
  EXPECT_THAT(lines[4], StartsWith("next_page_token: "));
}

TEST_F(TutorctlTest, ListExercisesJsonMatchesSql) {
  const std::vector<v1::Exercise> expected =
      truth().Exercises(v1::DIFFICULTY_EASY, "python");
  ASSERT_GT(expected.size(), 2u);
  ProcessResult result =
      Run({"list-exercises", "--difficulty=easy", "--language=python",
           "--all-pages", "--page-size=2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<v1::Exercise> exercises;
  for (const std::string& line : Lines(result.out)) {
    const auto page = ParseJson<v1::ListExercisesResponse>(line);
    exercises.insert(exercises.end(), page.exercises().begin(),
                     page.exercises().end());
  }
  ASSERT_EQ(exercises.size(), expected.size());
  for (size_t i = 0; i < exercises.size(); ++i) {
    EXPECT_THAT(exercises[i], EqualsProto(expected[i]));
  }
}

TEST_F(TutorctlTest, ListExercisesTableHoldsEveryTitle) {
  const std::vector<v1::Exercise> expected =
      truth().Exercises(v1::DIFFICULTY_HARD, "");
  ProcessResult result = Run({"list-exercises", "--difficulty=hard"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_THAT(lines[i + 1], StartsWith(absl::StrCat(expected[i].id(), " ")));
    EXPECT_THAT(lines[i + 1], HasSubstr(expected[i].title()));
  }
  ExpectAligned(lines);
}

TEST_F(TutorctlTest, GetUserRoleMatchesSql) {
  for (int64_t id : {1, 2, 3, 7, 12}) {
    ProcessResult json = Run({"get-user-role", absl::StrCat(id), "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_THAT(ParseJson<v1::GetUserRoleResponse>(json.out),
                EqualsProto(*truth().UserRole(id)));
  }
  ProcessResult table = Run({"get-user-role", "7"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(Lines(table.out),
              ::testing::ElementsAre("USER_ID  ROLE        ACTIVE",
                                     "7        instructor  false"));
}

TEST_F(TutorctlTest, StreaksMatchSql) {
  const std::string as_of = "2026-01-12T20:00:00Z";
  ProcessResult one = Run({"get-streak", "1", "--time-zone=Asia/Tokyo",
                           "--as-of", as_of, "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const v1::Streak expected = truth().Streak(1, "Asia/Tokyo", as_of);
  ASSERT_GT(expected.current_days(), 0);
  EXPECT_THAT(ParseJson<v1::Streak>(one.out), EqualsProto(expected));

  const std::vector<int64_t> ids = {5, 4, 10, 4};
  ProcessResult batch = Run({"batch-get-streaks", "5", "4", "10", "4",
                             "--time-zone=America/New_York",
                             absl::StrCat("--as-of=", as_of), "--json"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  const auto response = ParseJson<v1::BatchGetStreaksResponse>(batch.out);
  ASSERT_EQ(response.streaks_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(response.streaks(i),
                EqualsProto(truth().Streak(ids[i], "America/New_York", as_of)));
  }

  ProcessResult table =
      Run({"batch-get-streaks", "1", "6", absl::StrCat("--as-of=", as_of)});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const std::vector<std::string> lines = Lines(table.out);
  ASSERT_THAT(lines, SizeIs(3));
  const v1::Streak alice = truth().Streak(1, "UTC", as_of);
  EXPECT_EQ(std::vector<std::string>(
                absl::StrSplit(lines[1], ' ', absl::SkipEmpty())),
            (std::vector<std::string>{
                "1", absl::StrCat(alice.current_days()),
                absl::StrCat(alice.longest_days()), alice.last_active_date(),
                alice.active_on_as_of_date() ? "true" : "false"}));
  // No activity: the date prints as "-".
  EXPECT_THAT(lines[2], HasSubstr(" - "));
  ExpectAligned(lines);
}

TEST_F(TutorctlTest, HealthReportsServing) {
  ProcessResult table = Run({"health"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("SERVING"));
  ProcessResult json = Run({"health", "tutoring.v1.TutoringService", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"status\":\"SERVING\"}\n");
  EXPECT_EQ(Run({"health", "no.such.Service"}).exit_code, 5);
}

TEST_F(TutorctlTest, ExitStatusIsTheGrpcCode) {
  struct Case {
    std::vector<std::string> args;
    int code;
  };
  const Case cases[] = {
      {{"get-user-role", "0"}, 3},
      {{"get-user-role", "-4"}, 3},
      {{"list-active-users", "--page-size=-1"}, 3},
      {{"list-active-users", "--page-token=garbage"}, 3},
      {{"get-streak", "1", "--time-zone=+05:00"}, 3},
      {{"list-users-by-role", "--role=unspecified"}, 3},
      {{"get-user-role", "299"}, 5},
      {{"batch-get-streaks", "1", "299"}, 5},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    ProcessResult result = Run(c.args);
    EXPECT_EQ(result.exit_code, c.code) << result.err;
    EXPECT_THAT(result.out, IsEmpty());
    // One line: the code's name and the server's message.
    EXPECT_THAT(Lines(result.err), SizeIs(1)) << result.err;
    EXPECT_THAT(result.err, StartsWith("tutorctl: "));
  }
}

TEST_F(TutorctlTest, UsageErrorsExit64WithOneLineOnStderr) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"--bogus", "health"},
      {"frobnicate"},
      {"get-user-role"},
      {"get-user-role", "abc"},
      {"get-user-role", "1", "2"},
      {"list-users-by-role"},
      {"list-exercises"},
      {"list-exercises", "--difficulty=extreme"},
      {"get-user-role", "1", "--difficulty=easy"},
      {"health", "--all-pages"},
      {"health", "--target="},
      {"--deadline=0s", "health"},
      {"--deadline=inf", "health"},
      {"--deadline=soon", "health"},
      {"get-streak", "1", "--as-of=yesterday"},
      {"list-active-users", "--page-size=many"},
      {"list-active-users", "--page-size=2147483648"},
      {"list-active-users", "--page-size"},
      {"list-active-users", "--json=maybe"},
      {"-x", "health"},
  };
  for (const std::vector<std::string>& args : cases) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    ProcessResult result = Run(args);
    EXPECT_EQ(result.exit_code, 64);
    EXPECT_THAT(result.out, IsEmpty());
    EXPECT_THAT(Lines(result.err), SizeIs(1)) << result.err;
    EXPECT_THAT(result.err, StartsWith("tutorctl: "));
  }
}

TEST_F(TutorctlTest, HelpPrintsUsageAndSucceeds) {
  for (const char* flag : {"--help", "-h"}) {
    ProcessResult result = RunTutorctl({"get-user-role", flag});
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_THAT(result.out, StartsWith("Usage: tutorctl"));
    // Every flag, from the flag definitions.
    for (const char* name :
         {"--target", "--deadline", "--json", "--all-pages", "--page-size",
          "--page-token", "--role", "--pending-onboarding-only", "--difficulty",
          "--language", "--time-zone", "--as-of"}) {
      EXPECT_THAT(result.out, HasSubstr(name));
    }
    EXPECT_THAT(result.err, IsEmpty());
  }
}

TEST_F(TutorctlTest, DoubleDashEndsTheFlags) {
  // "--json" is the name of a service the server does not know.
  ProcessResult result = Run({"health", "--", "--json"});
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(TutorctlTest, TargetComesFromTheEnvironmentUnlessGiven) {
  const std::string good = absl::StrCat("TUTORING_TARGET=", server_->target());
  EXPECT_EQ(RunTutorctl({"health"}, {good}).exit_code, 0);
  // Port 1 on loopback: nothing listens there.
  const std::string bad = "TUTORING_TARGET=127.0.0.1:1";
  EXPECT_EQ(RunTutorctl({"health", TargetFlag()}, {bad}).exit_code, 0);
  EXPECT_EQ(RunTutorctl({"health"}, {bad}).exit_code, 14);
}

// A server whose ListExercises never answers and whose health service
// reports "fake.Down" as NOT_SERVING.
class HangingService final : public v1::TutoringService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ListExercises(grpc::CallbackServerContext*,
                                          const v1::ListExercisesRequest*,
                                          v1::ListExercisesResponse*) override {
    // gRPC owns callback reactors: OnDone deletes it.
    return new NeverAnswers();
  }

 private:
  class NeverAnswers final : public grpc::ServerUnaryReactor {
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }
  };
};

class TutorctlFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    server_->GetHealthCheckService()->SetServingStatus("fake.Down", false);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
    }
  }

  std::string TargetFlag() const {
    return absl::StrCat("--target=127.0.0.1:", port_);
  }

  HangingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(TutorctlFakeServerTest, DeadlineBoundsTheCallAndExits4) {
  const absl::Time start = absl::Now();
  ProcessResult result = RunTutorctl({TargetFlag(), "--deadline=300ms",
                                      "list-exercises", "--difficulty=easy"});
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_THAT(result.err, StartsWith("tutorctl: DEADLINE_EXCEEDED"));
  EXPECT_GE(elapsed, absl::Milliseconds(300));
  // Far below the 5 s default deadline.
  EXPECT_LT(elapsed, absl::Seconds(4));
}

TEST_F(TutorctlFakeServerTest, HealthNotServingIsPrintedAndExits14) {
  ProcessResult table = RunTutorctl({TargetFlag(), "health", "fake.Down"});
  EXPECT_EQ(table.exit_code, 14);
  EXPECT_THAT(
      Lines(table.out),
      ::testing::ElementsAre("SERVICE    STATUS", "fake.Down  NOT_SERVING"));
  ProcessResult json =
      RunTutorctl({TargetFlag(), "health", "fake.Down", "--json"});
  EXPECT_EQ(json.exit_code, 14);
  EXPECT_EQ(json.out, "{\"status\":\"NOT_SERVING\"}\n");
}

TEST_F(TutorctlTest, UnreachableServerExits14) {
  ProcessResult result = RunTutorctl(
      {"get-user-role", "1", "--target=127.0.0.1:1", "--deadline=10s"});
  EXPECT_EQ(result.exit_code, 14);
  EXPECT_THAT(result.err, StartsWith("tutorctl: UNAVAILABLE"));
}

}  // namespace
}  // namespace tutoring::testing
