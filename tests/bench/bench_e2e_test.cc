// tutoring-bench (the binary, path from TUTORING_BENCH_BIN, run through
// tests/support/subprocess.h) against the real tutoring-server (started by
// tests/support/server_process.h) over a migrated database holding users
// 1..10. Expected status counts come from replaying the generator with the
// same seed: the binary must report exactly those.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/load_report.h"
#include "bench/loadgen/request_mix.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

using bench::ParseMix;
using bench::RequestGenerator;
using bench::RequestSpace;
using bench::Rpc;
using bench::RpcName;
using bench::StatusCodeName;
using google::protobuf::Struct;

constexpr int kUsers = 10;

// Runs tutoring-bench with `flags` and waits for it.
ProcessResult RunBench(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {BinaryPath("TUTORING_BENCH_BIN")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunProcess(argv);
}

Struct ParseJson(const std::string& json) {
  Struct parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

double Number(const Struct& object, const std::string& key) {
  const auto it = object.fields().find(key);
  if (it == object.fields().end()) return 0;  // absent count = 0
  return it->second.number_value();
}

const Struct& Object(const Struct& object, const std::string& key) {
  static const Struct kEmpty;
  const auto it = object.fields().find(key);
  return it == object.fields().end() ? kEmpty : it->second.struct_value();
}

// {code name: count} as reported.
std::map<std::string, int64_t> Codes(const Struct& codes) {
  std::map<std::string, int64_t> result;
  for (const auto& [name, value] : codes.fields()) {
    result[name] = static_cast<int64_t>(value.number_value());
  }
  return result;
}

// Users 1..kUsers (ids fixed), exercises of every difficulty in the default
// languages, and completed exercises in the last days so streaks exist.
void Seed(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::work tx(connection);
  tx.exec0(absl::StrCat(
      "INSERT INTO users (id, email, display_name, role, is_active, "
      "onboarding_completed) "
      "SELECT i, 'user' || i || '@example.com', 'User ' || i, "
      "(ARRAY['student','instructor','admin'])[1 + i % 3]::user_role, "
      "i % 4 <> 0, i % 2 = 0 FROM generate_series(1, ",
      kUsers, ") AS i"));
  tx.exec0(
      "INSERT INTO exercises (title, difficulty, programming_language) "
      "SELECT 'Exercise ' || i, "
      "(ARRAY['easy','medium','hard'])[1 + i % 3]::exercise_difficulty, "
      "(ARRAY['python','javascript','typescript','java','c','cpp','csharp',"
      "'go','rust','ruby','kotlin','swift'])[1 + i % 12] "
      "FROM generate_series(1, 60) AS i");
  tx.exec0(absl::StrCat(
      "INSERT INTO user_exercises (user_id, exercise_id, status, created_at) "
      "SELECT 1 + i % ",
      kUsers,
      ", 1 + i % 60, 'completed', now() - (i % 9) * interval '1 day' "
      "FROM generate_series(1, 200) AS i"));
  tx.commit();
}

class BenchE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestDatabase>> database =
        CreateMigratedDatabase("bench_e2e");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    Seed(database_->url());
    server_ =
        ServerProcess::Start(database_->url(), {"--health-interval=100ms"});
  }

  static void TearDownTestSuite() {
    server_.reset();
    database_.reset();
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static std::string Target() { return server_->target(); }

  static inline std::unique_ptr<TestDatabase> database_;
  static inline std::unique_ptr<ServerProcess> server_;
};

TEST_F(BenchE2eTest, EveryRpcOfTheMixSucceedsAndIsCountedPerRpc) {
  const std::string mix =
      "GetUserRole:3,GetStreak:2,BatchGetStreaks:1,ListActiveUsers:1,"
      "ListUsersByRole:1,ListExercises:1,Health:1";
  const ProcessResult result = RunBench(
      {"--target=" + Target(), "--mix=" + mix, absl::StrCat("--users=", kUsers),
       "--batch-size=5", "--total=500", "--concurrency=16", "--connections=2",
       "--seed=4", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Struct report = ParseJson(result.out);
  EXPECT_EQ(Number(report, "total"), 500);
  EXPECT_EQ(Number(report, "errors"), 0);
  EXPECT_EQ(Codes(Object(report, "status_codes")),
            (std::map<std::string, int64_t>{{"OK", 500}}));
  EXPECT_GT(Number(report, "qps"), 0);

  // One thread, no warmup: the calls are the generator's first 500.
  RequestSpace space;
  space.user_id_max = kUsers;
  space.batch_size = 5;
  RequestGenerator generator(*ParseMix(mix), space,
                             bench::WorkerSeed(4, 0, false));
  std::map<std::string, int64_t> expected;
  std::string message;
  for (int i = 0; i < 500; ++i)
    ++expected[std::string(RpcName(generator.Next(&message)))];
  const Struct& rpcs = Object(report, "rpcs");
  EXPECT_EQ(rpcs.fields_size(), 7);
  for (const auto& [name, count] : expected) {
    const Struct& stats = Object(rpcs, name);
    EXPECT_EQ(Number(stats, "total"), count) << name;
    EXPECT_EQ(Number(stats, "errors"), 0) << name;
  }
}

TEST_F(BenchE2eTest, InvalidRequestsAreCountedByStatusCode) {
  // GetUserRole over ids -2..20: <= 0 INVALID_ARGUMENT, 1..10 OK, 11..20
  // NOT_FOUND. GetStreak in a zone that does not exist: INVALID_ARGUMENT.
  const ProcessResult result =
      RunBench({"--target=" + Target(), "--mix=GetUserRole:2,GetStreak:1",
                "--user-id-min=-2", "--users=20", "--time-zones=Mars/Olympus",
                "--total=300", "--concurrency=8", "--seed=21", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Struct report = ParseJson(result.out);

  RequestSpace space;
  space.user_id_min = -2;
  space.user_id_max = 20;
  space.time_zones = {"Mars/Olympus"};
  RequestGenerator generator(*ParseMix("GetUserRole:2,GetStreak:1"), space,
                             bench::WorkerSeed(21, 0, false));
  std::map<std::string, std::map<std::string, int64_t>> expected;
  std::string message;
  for (int i = 0; i < 300; ++i) {
    const Rpc rpc = generator.Next(&message);
    int code = 3;  // INVALID_ARGUMENT
    if (rpc == Rpc::kGetUserRole) {
      tutoring::v1::GetUserRoleRequest request;
      ASSERT_TRUE(request.ParseFromString(message));
      const int64_t id = request.user_id();
      code = id <= 0 ? 3 : id <= kUsers ? 0 : 5;
    }
    ++expected[std::string(RpcName(rpc))][std::string(StatusCodeName(code))];
  }
  ASSERT_EQ(expected["GetUserRole"].size(), 3u);

  EXPECT_EQ(Number(report, "total"), 300);
  const Struct& rpcs = Object(report, "rpcs");
  std::map<std::string, int64_t> all;
  for (const auto& [rpc, codes] : expected) {
    EXPECT_EQ(Codes(Object(Object(rpcs, rpc), "status_codes")), codes) << rpc;
    for (const auto& [code, count] : codes) all[code] += count;
  }
  EXPECT_EQ(Codes(Object(report, "status_codes")), all);
  EXPECT_EQ(Number(report, "errors"), 300 - all["OK"]);
  // A sample message per failing code, from the server.
  const Struct& messages = Object(report, "error_messages");
  EXPECT_EQ(messages.fields().count("INVALID_ARGUMENT"), 1u);
  EXPECT_EQ(messages.fields().count("NOT_FOUND"), 1u);
}

TEST_F(BenchE2eTest, HealthCheckByFullMethodNameAndTextReport) {
  const ProcessResult result =
      RunBench({"--target=" + Target(), "--call=grpc.health.v1.Health/Check",
                "--total=200", "--concurrency=20", "--connections=2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StrContains(result.out, "Total:       200 calls"))
      << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "Errors:      0")) << result.out;
}

TEST_F(BenchE2eTest, BadFlagsExitWithUsageStatus) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--call=Health", "--no-such-flag"},
           {"--call=Health", "--concurrency=many"},
           {"--call=Nope"},
           {"--mix=GetStreak:0"},
           {},  // neither --call nor --mix
           {"--call=Health", "--mix=Health"},
           {"--call=Health", "--total=5", "--duration=1s"},
           {"--call=Health", "--connections=4", "--concurrency=2"},
           {"--call=Health", "--connect-timeout=0s"},
           {"--call=Health", "--timeout=-1s"},
           {"--call=Health", "--warmup=-1ms"},
           {"--call=Health", "--duration=-1s"},
           {"--call=Health", "stray"}}) {
    const ProcessResult result = RunBench(flags);
    EXPECT_EQ(result.exit_code, 64) << absl::StrJoin(flags, " ") << "\n"
                                    << result.err;
    // One line, from the common command-line layer.
    EXPECT_TRUE(absl::StartsWith(result.err, "tutoring-bench: ")) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
        << result.err;
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(BenchE2eTest, HelpExitsZero) {
  const ProcessResult result = RunBench({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* flag :
       {"--target", "--call", "--mix", "--concurrency", "--connections",
        "--duration", "--total", "--warmup", "--rps", "--seed", "--json"}) {
    EXPECT_TRUE(absl::StrContains(result.out, flag)) << flag;
  }
}

TEST_F(BenchE2eTest, UnreachableTargetFailsWithoutUsage) {
  // Port 1 on localhost: nothing listens there.
  const ProcessResult result =
      RunBench({"--target=127.0.0.1:1", "--call=Health", "--total=1"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(absl::StartsWith(result.err, "tutoring-bench: ")) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  EXPECT_EQ(result.out, "");
}

}  // namespace
}  // namespace tutoring::testing
