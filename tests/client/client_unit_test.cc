// Pure tests of the client/ component: option checks, status mapping,
// tutorctl's command-line logic (MakeInvocation, given flag values as main.cc
// would pass them) and tables. No server, no database. The parsing of the
// command line itself is the common layer's; tutorctl_test runs the binary.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/tutorctl/tutorctl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring {
namespace {

using ::testing::ElementsAre;
using tutorctl::FlagValues;
using tutorctl::Invocation;
using tutorctl::MakeInvocation;
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

// client/service_config.json as it is in the source tree now.
std::string ServiceConfigSource() {
  const char* source_dir = std::getenv("TUTORING_SOURCE_DIR");
  if (source_dir == nullptr) {
    ADD_FAILURE() << "TUTORING_SOURCE_DIR is not set (run through ctest)";
    return "";
  }
  std::ifstream file(std::string(source_dir) + "/client/service_config.json");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The methodConfig entry of the file naming `service`/`method` exactly
// (method "" = the entry naming the service alone).
google::protobuf::Struct MethodConfig(absl::string_view method) {
  google::protobuf::Struct config;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  ServiceConfigSource(), &config)
                  .ok());
  for (const auto& entry :
       config.fields().at("methodConfig").list_value().values()) {
    for (const auto& name :
         entry.struct_value().fields().at("name").list_value().values()) {
      const auto& fields = name.struct_value().fields();
      const auto found = fields.find("method");
      const std::string named =
          found == fields.end() ? "" : found->second.string_value();
      if (fields.at("service").string_value() ==
              "tutoring.v1.TutoringService" &&
          named == method) {
        return entry.struct_value();
      }
    }
  }
  ADD_FAILURE() << "no methodConfig for " << method;
  return {};
}

absl::Duration ConfigDuration(const google::protobuf::Value& value) {
  absl::Duration d;
  EXPECT_TRUE(absl::ParseDuration(value.string_value(), &d))
      << value.string_value();
  return d;
}

TEST(ServiceConfig, EmbeddedIsTheSourceFile) {
  EXPECT_EQ(DefaultServiceConfigJson(), ServiceConfigSource());
}

TEST(ServiceConfig, DefaultsComeFromTheFile) {
  const auto service = MethodConfig("");
  const auto& retry = service.fields().at("retryPolicy").struct_value().fields();
  const RetryPolicy defaults = ClientOptions().retry;
  EXPECT_EQ(defaults.max_attempts, retry.at("maxAttempts").number_value());
  EXPECT_EQ(defaults.initial_backoff, ConfigDuration(retry.at("initialBackoff")));
  EXPECT_EQ(defaults.max_backoff, ConfigDuration(retry.at("maxBackoff")));
  EXPECT_EQ(defaults.backoff_multiplier,
            retry.at("backoffMultiplier").number_value());
  EXPECT_FALSE(ClientOptions().default_deadline.has_value());
  for (const char* method : {"GetUserRole", "GetStreak", "ListActiveUsers",
                             "ListUsersByRole", "ListExercises",
                             "BatchGetStreaks"}) {
    EXPECT_EQ(DefaultTimeout(method),
              ConfigDuration(MethodConfig(method).fields().at("timeout")))
        << method;
  }
  // A method the file does not name gets the service's timeout.
  EXPECT_EQ(DefaultTimeout("NotYetAMethod"),
            ConfigDuration(service.fields().at("timeout")));
}

TEST(ClientOptions, TlsAndTokenNeedReadableFilesAndTls) {
  ClientOptions token_without_tls;
  token_without_tls.bearer_token = "dashboard.0123456789abcdef";
  EXPECT_EQ(CreateCode(token_without_tls), absl::StatusCode::kInvalidArgument);
  ClientOptions missing_ca;
  missing_ca.tls = TlsOptions{"/nonexistent/ca.pem", "", "", ""};
  EXPECT_EQ(CreateCode(missing_ca), absl::StatusCode::kInvalidArgument);
  ClientOptions cert_without_key;
  cert_without_key.tls = TlsOptions{"", "/nonexistent/c.pem", "", ""};
  EXPECT_EQ(CreateCode(cert_without_key), absl::StatusCode::kInvalidArgument);
  // System roots, a token, a name override: no file to read, no server
  // needed.
  ClientOptions tls_with_token;
  tls_with_token.tls = TlsOptions{"", "", "", "localhost"};
  tls_with_token.bearer_token = "dashboard.0123456789abcdef";
  EXPECT_EQ(CreateCode(tls_with_token), absl::StatusCode::kOk);
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

// MakeInvocation with `flags`, `args` and the flags named in `given`.
absl::StatusOr<Invocation> Make(const std::vector<std::string>& args,
                                const FlagValues& flags = FlagValues(),
                                const std::set<std::string>& given = {}) {
  return MakeInvocation(flags, args, given);
}

TEST(TutorctlInvocation, FlagValuesReachTheInvocation) {
  FlagValues flags;
  flags.target = "h:2";
  flags.deadline = absl::Milliseconds(250);
  flags.json = true;
  flags.all_pages = true;
  flags.page_size = 7;
  flags.page_token = "abc";
  flags.role = "admin";
  flags.pending_onboarding_only = true;
  absl::StatusOr<Invocation> invocation =
      Make({"list-active-users"}, flags,
           {"target", "deadline", "json", "all_pages", "page_size",
            "page_token", "role", "pending_onboarding_only"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->subcommand, Subcommand::kListActiveUsers);
  EXPECT_EQ(invocation->target, "h:2");
  EXPECT_EQ(invocation->deadline, absl::Milliseconds(250));
  EXPECT_TRUE(invocation->json);
  EXPECT_TRUE(invocation->all_pages);
  EXPECT_EQ(invocation->page_size, 7);
  EXPECT_EQ(invocation->page_token, "abc");
  EXPECT_EQ(invocation->role, v1::ROLE_ADMIN);
  EXPECT_TRUE(invocation->pending_onboarding_only);
}

TEST(TutorctlInvocation, TlsFlagsAndTokenFile) {
  FlagValues flags;
  flags.tls_ca = "ca.pem";
  flags.tls_server_name = "localhost";
  absl::StatusOr<Invocation> tls =
      Make({"health"}, flags, {"tls_ca", "tls_server_name"});
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_TRUE(tls->tls.has_value());
  EXPECT_EQ(tls->tls->ca_file, "ca.pem");
  EXPECT_EQ(tls->tls->server_name, "localhost");
  EXPECT_FALSE(Make({"health"}).value().tls.has_value());

  FlagValues half = flags;
  half.tls_cert = "client.pem";
  EXPECT_EQ(Make({"health"}, half, {"tls_ca", "tls_cert"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  FlagValues token_without_tls;
  token_without_tls.token_file = "/dev/null";
  EXPECT_EQ(Make({"health"}, token_without_tls, {"token_file"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  FlagValues empty_token = flags;
  empty_token.token_file = "/dev/null";
  EXPECT_EQ(Make({"health"}, empty_token, {"tls_ca", "token_file"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TutorctlInvocation, DefaultsWithoutFlags) {
  absl::StatusOr<Invocation> invocation = Make({"health"});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->subcommand, Subcommand::kHealth);
  EXPECT_EQ(invocation->target, tutorctl::kDefaultTarget);
  EXPECT_EQ(invocation->deadline, ClientOptions().default_deadline);
  EXPECT_EQ(invocation->health_service, "");
  EXPECT_FALSE(invocation->json);
}

TEST(TutorctlInvocation, TargetFromTheEnvironmentIsUsedAndEmptyMeansDefault) {
  FlagValues flags;
  flags.target = "env:1";  // not given: TUTORING_TARGET's value
  absl::StatusOr<Invocation> from_env = Make({"health"}, flags);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->target, "env:1");
  flags.target = "";  // TUTORING_TARGET set but empty
  absl::StatusOr<Invocation> empty = Make({"health"}, flags);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->target, tutorctl::kDefaultTarget);
}

TEST(TutorctlInvocation, EnumNamesShortOrFullAnyCase) {
  FlagValues by_role;
  by_role.role = "ROLE_INSTRUCTOR";
  absl::StatusOr<Invocation> role =
      Make({"list-users-by-role"}, by_role, {"role"});
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(role->role, v1::ROLE_INSTRUCTOR);
  FlagValues by_difficulty;
  by_difficulty.difficulty = "Medium";
  by_difficulty.language = "go";
  absl::StatusOr<Invocation> difficulty =
      Make({"list-exercises"}, by_difficulty, {"difficulty", "language"});
  ASSERT_TRUE(difficulty.ok()) << difficulty.status();
  EXPECT_EQ(difficulty->difficulty, v1::DIFFICULTY_MEDIUM);
  EXPECT_EQ(difficulty->language, "go");
}

TEST(TutorctlInvocation, UserIdsIncludingNegativeOnesForTheServerToJudge) {
  FlagValues flags;
  flags.time_zone = "Asia/Tokyo";
  flags.as_of = "2026-01-12T08:00:00+02:00";
  absl::StatusOr<Invocation> batch = Make({"batch-get-streaks", "3", "-1", "3"},
                                          flags, {"time_zone", "as_of"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT(batch->user_ids, ElementsAre(3, -1, 3));
  EXPECT_EQ(batch->time_zone, "Asia/Tokyo");
  ASSERT_TRUE(batch->as_of.has_value());
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(*batch->as_of),
            "2026-01-12T06:00:00Z");
}

TEST(TutorctlInvocation, HealthTakesAnyServiceName) {
  absl::StatusOr<Invocation> health = Make({"health", "--json"});
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->health_service, "--json");
  EXPECT_FALSE(health->json);
}

TEST(TutorctlInvocation, ValuesOfFlagsNotGivenThatDoNotApplyAreIgnored) {
  FlagValues flags;
  flags.role = "no such role";
  flags.difficulty = "no such difficulty";
  flags.as_of = "never";
  flags.page_size = 9;
  absl::StatusOr<Invocation> invocation = Make({"get-user-role", "4"}, flags);
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->role, v1::ROLE_UNSPECIFIED);
  EXPECT_EQ(invocation->page_size, 0);
  EXPECT_FALSE(invocation->as_of.has_value());
  EXPECT_THAT(invocation->user_ids, ElementsAre(4));
}

// One usage error: INVALID_ARGUMENT for these positional arguments, flag
// values and given flags.
struct UsageErrorCase {
  std::vector<std::string> args;
  FlagValues flags;
  std::set<std::string> given;
};

FlagValues With(void (*set)(FlagValues&)) {
  FlagValues flags;
  set(flags);
  return flags;
}

void ExpectUsageErrors(const std::vector<UsageErrorCase>& cases) {
  for (const UsageErrorCase& c : cases) {
    EXPECT_EQ(Make(c.args, c.flags, c.given).status().code(),
              absl::StatusCode::kInvalidArgument)
        << ::testing::PrintToString(c.args) << " given "
        << ::testing::PrintToString(c.given);
  }
}

TEST(TutorctlInvocation, MissingOrUnknownCommandIsAUsageError) {
  ExpectUsageErrors({{{}, {}, {}},
                     {{}, With([](FlagValues& f) { f.json = true; }), {"json"}},
                     {{"nope"}, {}, {}}});
}

TEST(TutorctlInvocation, GivenFlagThatDoesNotApplyIsAUsageError) {
  ExpectUsageErrors({
      {{"list-active-users"}, {}, {"difficulty"}},
      {{"list-active-users"}, {}, {"as_of"}},
      {{"list-users-by-role"},
       With([](FlagValues& f) { f.role = "admin"; }),
       {"role", "pending_onboarding_only"}},
      {{"get-user-role", "1"}, {}, {"all_pages"}},
      {{"get-user-role", "1"}, {}, {"page_size"}},
      {{"get-streak", "1"}, {}, {"role"}},
      {{"health"}, {}, {"time_zone"}},
      {{"health"}, {}, {"no_such_flag"}},
  });
}

TEST(TutorctlInvocation, WrongNumberOfArgumentsIsAUsageError) {
  ExpectUsageErrors({
      {{"health", "a", "b"}, {}, {}},
      {{"get-user-role"}, {}, {}},
      {{"get-streak", "1", "2"}, {}, {}},
      {{"batch-get-streaks"}, {}, {}},
      {{"list-active-users", "extra"}, {}, {}},
  });
}

TEST(TutorctlInvocation, UserIdThatIsNotAnInt64IsAUsageError) {
  ExpectUsageErrors({
      {{"get-user-role", "x"}, {}, {}},
      {{"get-user-role", "99999999999999999999"}, {}, {}},
      {{"batch-get-streaks", "1", "2.5"}, {}, {}},
  });
}

TEST(TutorctlInvocation, MalformedValueIsAUsageError) {
  ExpectUsageErrors({
      {{"list-users-by-role"},
       With([](FlagValues& f) { f.role = "teacher"; }),
       {"role"}},
      {{"list-users-by-role"}, {}, {"role"}},  // --role=
      {{"list-exercises"},
       With([](FlagValues& f) { f.difficulty = "extreme"; }),
       {"difficulty"}},
      {{"get-streak", "1"},
       With([](FlagValues& f) { f.as_of = "2026-01-12"; }),
       {"as_of"}},
      {{"health"}, With([](FlagValues& f) { f.target = ""; }), {"target"}},
  });
}

TEST(TutorctlInvocation, DeadlineThatIsNotPositiveAndFiniteIsAUsageError) {
  ExpectUsageErrors({
      {{"health"},
       With([](FlagValues& f) { f.deadline = absl::ZeroDuration(); }),
       {"deadline"}},
      {{"health"},
       With([](FlagValues& f) { f.deadline = absl::Seconds(-1); }),
       {"deadline"}},
      {{"health"},
       With([](FlagValues& f) { f.deadline = absl::InfiniteDuration(); }),
       {"deadline"}},
  });
}

TEST(TutorctlInvocation, MissingRequiredFilterIsAUsageError) {
  ExpectUsageErrors({
      {{"list-users-by-role"}, {}, {}},
      {{"list-exercises"},
       With([](FlagValues& f) { f.language = "go"; }),
       {"language"}},
  });
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
