#include "client/tutorctl/tutorctl.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/command_line.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "grpc/health/v1/health.pb.h"

namespace tutoring::tutorctl {
namespace {

// Bit masks of the subcommands a flag applies to.
constexpr unsigned Bit(Subcommand s) { return 1u << static_cast<int>(s); }
constexpr unsigned kAll = ~0u;
constexpr unsigned kLists = Bit(Subcommand::kListActiveUsers) |
                            Bit(Subcommand::kListUsersByRole) |
                            Bit(Subcommand::kListExercises);
constexpr unsigned kStreaks =
    Bit(Subcommand::kGetStreak) | Bit(Subcommand::kBatchGetStreaks);
constexpr unsigned kRoleFilter =
    Bit(Subcommand::kListActiveUsers) | Bit(Subcommand::kListUsersByRole);

// Which subcommands each flag applies to, by its absl name.
struct FlagRule {
  const char* name;
  unsigned applies_to;
};

constexpr FlagRule kFlagRules[] = {
    {"target", kAll},
    {"deadline", kAll},
    {"json", kAll},
    {"all_pages", kLists},
    {"page_size", kLists},
    {"page_token", kLists},
    {"role", kRoleFilter},
    {"pending_onboarding_only", Bit(Subcommand::kListActiveUsers)},
    {"difficulty", Bit(Subcommand::kListExercises)},
    {"language", Bit(Subcommand::kListExercises)},
    {"time_zone", kStreaks},
    {"as_of", kStreaks},
    {"tls", kAll},
    {"tls_ca", kAll},
    {"tls_cert", kAll},
    {"tls_key", kAll},
    {"tls_server_name", kAll},
    {"token_file", kAll},
};

struct SubcommandSpec {
  const char* name;
  Subcommand subcommand;
};

constexpr SubcommandSpec kSubcommands[] = {
    {"list-active-users", Subcommand::kListActiveUsers},
    {"list-users-by-role", Subcommand::kListUsersByRole},
    {"get-user-role", Subcommand::kGetUserRole},
    {"list-exercises", Subcommand::kListExercises},
    {"get-streak", Subcommand::kGetStreak},
    {"batch-get-streaks", Subcommand::kBatchGetStreaks},
    {"health", Subcommand::kHealth},
};

const FlagRule* FindFlagRule(absl::string_view name) {
  for (const FlagRule& rule : kFlagRules) {
    if (name == rule.name) return &rule;
  }
  return nullptr;
}

// "--page-size" for "page_size".
std::string Dashed(absl::string_view name) {
  return absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}));
}

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// "student" or "ROLE_STUDENT" (any case).
std::optional<v1::Role> ParseRole(absl::string_view value) {
  std::string upper = absl::AsciiStrToUpper(value);
  if (!absl::StartsWith(upper, "ROLE_")) upper = absl::StrCat("ROLE_", upper);
  v1::Role role;
  if (!v1::Role_Parse(upper, &role)) return std::nullopt;
  return role;
}

// "easy" or "DIFFICULTY_EASY" (any case).
std::optional<v1::Difficulty> ParseDifficulty(absl::string_view value) {
  std::string upper = absl::AsciiStrToUpper(value);
  if (!absl::StartsWith(upper, "DIFFICULTY_")) {
    upper = absl::StrCat("DIFFICULTY_", upper);
  }
  v1::Difficulty difficulty;
  if (!v1::Difficulty_Parse(upper, &difficulty)) return std::nullopt;
  return difficulty;
}

// INVALID_ARGUMENT for flag `name` (absl name) given as `value`.
absl::Status BadValue(absl::string_view name, absl::string_view value,
                      absl::string_view rule) {
  return UsageError(absl::StrCat(Dashed(name), "=", value, ": ", rule));
}

// Checks the positional arguments after the subcommand's name.
absl::Status ApplyArguments(absl::string_view subcommand_name,
                            absl::Span<const std::string> args,
                            Invocation& invocation) {
  const auto count_error = [&](absl::string_view expected) {
    return UsageError(absl::StrCat(subcommand_name, " takes ", expected,
                                   ", got ", args.size(), " argument(s)"));
  };
  switch (invocation.subcommand) {
    case Subcommand::kListActiveUsers:
    case Subcommand::kListUsersByRole:
    case Subcommand::kListExercises:
      if (!args.empty()) return count_error("no arguments");
      return absl::OkStatus();
    case Subcommand::kHealth:
      if (args.size() > 1) return count_error("at most one SERVICE");
      if (!args.empty()) invocation.health_service = args[0];
      return absl::OkStatus();
    case Subcommand::kGetUserRole:
    case Subcommand::kGetStreak:
      if (args.size() != 1) return count_error("exactly one USER_ID");
      break;
    case Subcommand::kBatchGetStreaks:
      if (args.empty()) return count_error("one or more USER_IDs");
      break;
  }
  for (const std::string& arg : args) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(arg, &id)) {
      return UsageError(
          absl::StrCat("USER_ID must be an integer, got '", arg, "'"));
    }
    invocation.user_ids.push_back(id);
  }
  return absl::OkStatus();
}

// "student" for ROLE_STUDENT; the number for values this build does not
// know.
std::string EnumLabel(const std::string& name, absl::string_view prefix,
                      int number) {
  if (name.empty()) return absl::StrCat(number);
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

std::string RoleLabel(v1::Role role) {
  return EnumLabel(v1::Role_Name(role), "ROLE_", role);
}

std::string DifficultyLabel(v1::Difficulty difficulty) {
  return EnumLabel(v1::Difficulty_Name(difficulty), "DIFFICULTY_", difficulty);
}

std::string Bool(bool value) { return value ? "true" : "false"; }

std::string Time(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("converting the answer to JSON: ", status.ToString()));
  }
  return json;
}

// Writes `message` as one line of JSON.
absl::Status PrintJson(const google::protobuf::Message& message,
                       std::ostream& out) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  out << *json << '\n';
  return absl::OkStatus();
}

using Rows = std::vector<std::vector<std::string>>;

std::vector<std::string> UserHeader() {
  return {"ID",     "EMAIL",     "DISPLAY_NAME", "ROLE",
          "ACTIVE", "ONBOARDED", "CREATED"};
}

void AddUserRows(const google::protobuf::RepeatedPtrField<v1::User>& users,
                 Rows& rows) {
  for (const v1::User& u : users) {
    rows.push_back({absl::StrCat(u.id()), u.email(), u.display_name(),
                    RoleLabel(u.role()), Bool(u.is_active()),
                    Bool(u.onboarding_completed()), Time(u.create_time())});
  }
}

std::vector<std::string> ExerciseHeader() {
  return {"ID", "TITLE", "DIFFICULTY", "LANGUAGE", "CREATED"};
}

void AddExerciseRows(
    const google::protobuf::RepeatedPtrField<v1::Exercise>& exercises,
    Rows& rows) {
  for (const v1::Exercise& e : exercises) {
    rows.push_back({absl::StrCat(e.id()), e.title(),
                    DifficultyLabel(e.difficulty()), e.programming_language(),
                    Time(e.create_time())});
  }
}

std::vector<std::string> StreakHeader() {
  return {"USER_ID", "CURRENT_DAYS", "LONGEST_DAYS", "LAST_ACTIVE_DATE",
          "ACTIVE_ON_AS_OF_DATE"};
}

void AddStreakRow(const v1::Streak& s, Rows& rows) {
  rows.push_back({absl::StrCat(s.user_id()), absl::StrCat(s.current_days()),
                  absl::StrCat(s.longest_days()),
                  s.last_active_date().empty() ? "-" : s.last_active_date(),
                  Bool(s.active_on_as_of_date())});
}

// One list subcommand: the first page, or every page with --all-pages.
// `add_rows(page, rows)` turns a page into table rows.
template <typename Request, typename Response, typename AddRows>
absl::Status PrintList(const Client& client,
                       absl::StatusOr<Response> (Client::*list)(
                           const Request&, std::optional<absl::Duration>) const,
                       const Request& request, const Invocation& invocation,
                       const std::vector<std::string>& header, AddRows add_rows,
                       std::ostream& out) {
  Rows rows;
  std::string next_page_token;
  const auto visit = [&](const Response& page) -> absl::Status {
    next_page_token = page.next_page_token();
    if (invocation.json) return PrintJson(page, out);
    add_rows(page, rows);
    return absl::OkStatus();
  };
  if (invocation.all_pages) {
    absl::Status walked = client.ForEachPage(list, request, visit);
    if (!walked.ok()) return walked;
  } else {
    absl::StatusOr<Response> page = (client.*list)(request, std::nullopt);
    if (!page.ok()) return page.status();
    if (absl::Status visited = visit(*page); !visited.ok()) return visited;
  }
  if (!invocation.json) {
    out << FormatTable(header, rows);
    if (!invocation.all_pages && !next_page_token.empty()) {
      out << "next_page_token: " << next_page_token << '\n';
    }
  }
  return absl::OkStatus();
}

// Code points in a UTF-8 string (continuation bytes are 10xxxxxx).
size_t DisplayWidth(absl::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

}  // namespace

std::string Usage() {
  return R"(Usage: tutorctl [flags] COMMAND [arguments] [flags]

Calls tutoring.v1.TutoringService and prints the answers as tables, or with
--json as one JSON document (proto JSON mapping) per response, one per line.

Commands:
  list-active-users   [--role=ROLE] [--pending-onboarding-only] [paging]
  list-users-by-role  --role=ROLE [paging]
  get-user-role       USER_ID
  list-exercises      --difficulty=DIFFICULTY [--language=NAME] [paging]
  get-streak          USER_ID [--time-zone=ZONE] [--as-of=TIME]
  batch-get-streaks   USER_ID... [--time-zone=ZONE] [--as-of=TIME]
  health              [SERVICE]  ("" or absent: the whole server; or e.g.
                      tutoring.v1.TutoringService)

Every command takes --target (default: the TUTORING_TARGET environment
variable, else 127.0.0.1:50051), --deadline and --json; paging is
--page-size, --page-token and --all-pages. Flags may come before or after
the command; a flag the command does not take is a usage error.

TLS: --tls-ca=FILE trusts that CA (--tls alone: the system's roots);
--tls-cert and --tls-key present a client certificate (mTLS);
--tls-server-name=NAME checks the server's certificate for NAME;
--token-file=FILE sends its first line as "authorization: Bearer ...".

Exit status: 0 on success; 64 for a malformed command line; otherwise the
gRPC status code of the failed call (3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED,
5 NOT_FOUND, 14 UNAVAILABLE, ...), its message on stderr. health exits 14
when the service is not SERVING.)";
}

absl::StatusOr<Invocation> MakeInvocation(const FlagValues& flags,
                                          absl::Span<const std::string> args,
                                          const std::set<std::string>& given) {
  if (args.empty()) return UsageError("missing COMMAND");
  const SubcommandSpec* subcommand = nullptr;
  for (const SubcommandSpec& spec : kSubcommands) {
    if (args[0] == spec.name) subcommand = &spec;
  }
  if (subcommand == nullptr) {
    return UsageError(absl::StrCat("unknown command '", args[0], "'"));
  }
  Invocation invocation;
  invocation.subcommand = subcommand->subcommand;
  const unsigned bit = Bit(invocation.subcommand);
  for (const std::string& name : given) {
    const FlagRule* rule = FindFlagRule(name);
    if (rule == nullptr) {
      return UsageError(absl::StrCat("unknown flag ", Dashed(name)));
    }
    if ((rule->applies_to & bit) == 0) {
      return UsageError(
          absl::StrCat(Dashed(name), " does not apply to ", subcommand->name));
    }
  }
  const auto applies = [bit](absl::string_view name) {
    return (FindFlagRule(name)->applies_to & bit) != 0;
  };
  const auto is_given = [&given](const char* name) {
    return given.count(name) > 0;
  };

  if (!flags.target.empty()) {
    invocation.target = flags.target;
  } else if (is_given("target")) {
    return BadValue("target", flags.target, "must not be empty");
  }
  if (is_given("deadline") || flags.deadline != absl::InfiniteDuration()) {
    RETURN_IF_ERROR(RequirePositive("deadline", flags.deadline));
    invocation.deadline = flags.deadline;
  }
  if (flags.tls || !flags.tls_ca.empty() || !flags.tls_cert.empty() ||
      !flags.tls_key.empty() || !flags.tls_server_name.empty()) {
    if (flags.tls_cert.empty() != flags.tls_key.empty()) {
      return UsageError("--tls-cert and --tls-key must be given together");
    }
    invocation.tls = TlsOptions{flags.tls_ca, flags.tls_cert, flags.tls_key,
                                flags.tls_server_name};
  }
  if (!flags.token_file.empty()) {
    if (!invocation.tls.has_value()) {
      return UsageError(
          "--token-file needs TLS (--tls or --tls-ca): a token is never sent "
          "in plaintext");
    }
    absl::StatusOr<std::string> token =
        ReadTokenFile("--token-file", flags.token_file);
    if (!token.ok()) return UsageError(token.status().message());
    invocation.bearer_token = *std::move(token);
  }
  invocation.json = flags.json;
  if (applies("page_size")) {
    invocation.all_pages = flags.all_pages;
    invocation.page_size = flags.page_size;
    invocation.page_token = flags.page_token;
  }
  // An empty value means "not set", unless the flag was given so.
  const bool role_set = !flags.role.empty() || is_given("role");
  if (applies("role") && role_set) {
    std::optional<v1::Role> role = ParseRole(flags.role);
    if (!role.has_value()) {
      return BadValue("role", flags.role,
                      "expected student, instructor or admin");
    }
    invocation.role = *role;
  }
  if (applies("pending_onboarding_only")) {
    invocation.pending_onboarding_only = flags.pending_onboarding_only;
  }
  const bool difficulty_set =
      !flags.difficulty.empty() || is_given("difficulty");
  if (applies("difficulty") && difficulty_set) {
    std::optional<v1::Difficulty> difficulty =
        ParseDifficulty(flags.difficulty);
    if (!difficulty.has_value()) {
      return BadValue("difficulty", flags.difficulty,
                      "expected easy, medium or hard");
    }
    invocation.difficulty = *difficulty;
  }
  if (applies("language")) invocation.language = flags.language;
  if (applies("time_zone")) invocation.time_zone = flags.time_zone;
  if (applies("as_of") && (!flags.as_of.empty() || is_given("as_of"))) {
    google::protobuf::Timestamp as_of;
    if (!google::protobuf::util::TimeUtil::FromString(flags.as_of, &as_of)) {
      return BadValue("as_of", flags.as_of,
                      "expected an RFC 3339 time such as 2026-01-12T08:00:00Z");
    }
    invocation.as_of = as_of;
  }
  if (invocation.subcommand == Subcommand::kListUsersByRole && !role_set) {
    return UsageError("list-users-by-role needs --role");
  }
  if (invocation.subcommand == Subcommand::kListExercises && !difficulty_set) {
    return UsageError("list-exercises needs --difficulty");
  }
  RETURN_IF_ERROR(
      ApplyArguments(subcommand->name, args.subspan(1), invocation));
  return invocation;
}

absl::Status Execute(const Invocation& invocation, const Client& client,
                     std::ostream& out) {
  switch (invocation.subcommand) {
    case Subcommand::kListActiveUsers: {
      v1::ListActiveUsersRequest request;
      request.set_page_size(invocation.page_size);
      request.set_page_token(invocation.page_token);
      request.set_role(invocation.role);
      request.set_pending_onboarding_only(invocation.pending_onboarding_only);
      return PrintList(
          client, &Client::ListActiveUsers, request, invocation, UserHeader(),
          [](const v1::ListActiveUsersResponse& page, Rows& rows) {
            AddUserRows(page.users(), rows);
          },
          out);
    }
    case Subcommand::kListUsersByRole: {
      v1::ListUsersByRoleRequest request;
      request.set_role(invocation.role);
      request.set_page_size(invocation.page_size);
      request.set_page_token(invocation.page_token);
      return PrintList(
          client, &Client::ListUsersByRole, request, invocation, UserHeader(),
          [](const v1::ListUsersByRoleResponse& page, Rows& rows) {
            AddUserRows(page.users(), rows);
          },
          out);
    }
    case Subcommand::kListExercises: {
      v1::ListExercisesRequest request;
      request.set_difficulty(invocation.difficulty);
      request.set_programming_language(invocation.language);
      request.set_page_size(invocation.page_size);
      request.set_page_token(invocation.page_token);
      return PrintList(
          client, &Client::ListExercises, request, invocation, ExerciseHeader(),
          [](const v1::ListExercisesResponse& page, Rows& rows) {
            AddExerciseRows(page.exercises(), rows);
          },
          out);
    }
    case Subcommand::kGetUserRole: {
      v1::GetUserRoleRequest request;
      request.set_user_id(invocation.user_ids.at(0));
      absl::StatusOr<v1::GetUserRoleResponse> response =
          client.GetUserRole(request);
      if (!response.ok()) return response.status();
      if (invocation.json) return PrintJson(*response, out);
      out << FormatTable(
          {"USER_ID", "ROLE", "ACTIVE"},
          {{absl::StrCat(response->user_id()), RoleLabel(response->role()),
            Bool(response->is_active())}});
      return absl::OkStatus();
    }
    case Subcommand::kGetStreak: {
      v1::GetStreakRequest request;
      request.set_user_id(invocation.user_ids.at(0));
      request.set_time_zone(invocation.time_zone);
      if (invocation.as_of.has_value()) {
        *request.mutable_as_of() = *invocation.as_of;
      }
      absl::StatusOr<v1::Streak> streak = client.GetStreak(request);
      if (!streak.ok()) return streak.status();
      if (invocation.json) return PrintJson(*streak, out);
      Rows rows;
      AddStreakRow(*streak, rows);
      out << FormatTable(StreakHeader(), rows);
      return absl::OkStatus();
    }
    case Subcommand::kBatchGetStreaks: {
      v1::BatchGetStreaksRequest request;
      request.mutable_user_ids()->Add(invocation.user_ids.begin(),
                                      invocation.user_ids.end());
      request.set_time_zone(invocation.time_zone);
      if (invocation.as_of.has_value()) {
        *request.mutable_as_of() = *invocation.as_of;
      }
      absl::StatusOr<v1::BatchGetStreaksResponse> response =
          client.BatchGetStreaks(request);
      if (!response.ok()) return response.status();
      if (invocation.json) return PrintJson(*response, out);
      Rows rows;
      for (const v1::Streak& streak : response->streaks()) {
        AddStreakRow(streak, rows);
      }
      out << FormatTable(StreakHeader(), rows);
      return absl::OkStatus();
    }
    case Subcommand::kHealth: {
      absl::StatusOr<ServingStatus> serving =
          client.CheckHealth(invocation.health_service);
      if (!serving.ok()) return serving.status();
      const absl::string_view name = ServingStatusName(*serving);
      if (invocation.json) {
        grpc::health::v1::HealthCheckResponse response;
        response.set_status(
            static_cast<grpc::health::v1::HealthCheckResponse::ServingStatus>(
                *serving));
        if (absl::Status printed = PrintJson(response, out); !printed.ok()) {
          return printed;
        }
      } else {
        out << FormatTable(
            {"SERVICE", "STATUS"},
            {{invocation.health_service.empty() ? "(server)"
                                                : invocation.health_service,
              std::string(name)}});
      }
      if (*serving != ServingStatus::kServing) {
        return absl::UnavailableError(absl::StrCat(
            "health of '", invocation.health_service, "' is ", name));
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unhandled command");
}

int Run(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  ClientOptions options;
  options.target = invocation.target;
  options.default_deadline = invocation.deadline;
  options.tls = invocation.tls;
  options.bearer_token = invocation.bearer_token;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  absl::Status status =
      client.ok() ? Execute(invocation, **client, out) : client.status();
  out.flush();
  if (!status.ok()) {
    err << "tutorctl: " << absl::StatusCodeToString(status.code()) << ": "
        << OneLine(status.message()) << '\n';
  }
  return static_cast<int>(status.code());
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  const auto measure = [&widths](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(cells[i]));
    }
  };
  measure(header);
  for (const std::vector<std::string>& row : rows) measure(row);

  std::string table;
  const auto append = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      if (i > 0) line.append(2, ' ');
      line += cells[i];
      line.append(widths[i] - DisplayWidth(cells[i]), ' ');
    }
    const size_t end = line.find_last_not_of(' ');
    line.erase(end == std::string::npos ? 0 : end + 1);
    table += line;
    table += '\n';
  };
  append(header);
  for (const std::vector<std::string>& row : rows) append(row);
  return table;
}

}  // namespace tutoring::tutorctl
