#include "client/client.h"

#include <grpc/support/time.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tutoring {
namespace {

constexpr absl::string_view kService = "tutoring.v1.TutoringService";

// A duration as the proto JSON mapping of google.protobuf.Duration writes
// it ("0.100000000s"), which is what service configs expect. Rounded up to
// whole nanoseconds, so a positive duration stays positive.
std::string JsonDuration(absl::Duration d) {
  d = absl::Ceil(d, absl::Nanoseconds(1));
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  return absl::StrFormat("%d.%09ds", seconds, absl::ToInt64Nanoseconds(d));
}

// The embedded service config, parsed once. The file is checked when it is
// embedded (client_unit_test parses it), so a failure here is a broken
// build, not bad input: it aborts.
struct ServiceConfig {
  google::protobuf::Struct json;
  RetryPolicy service_retry;
  // "Service/Method" or "Service/" (the whole service) -> timeout.
  std::map<std::string, absl::Duration, std::less<>> timeouts;
};

[[noreturn]] void BadEmbeddedConfig(absl::string_view what) {
  std::fprintf(stderr, "tutoring::Client: embedded service config: %s\n",
               std::string(what).c_str());
  std::abort();
}

absl::Duration JsonToDuration(const google::protobuf::Value& value) {
  absl::Duration d;
  if (!absl::ParseDuration(value.string_value(), &d)) {
    BadEmbeddedConfig(absl::StrCat("bad duration \"", value.string_value(),
                                   "\""));
  }
  return d;
}

const ServiceConfig& EmbeddedConfig() {
  static const ServiceConfig* const config = [] {
    auto* parsed = new ServiceConfig;
    const auto status = google::protobuf::util::JsonStringToMessage(
        std::string(DefaultServiceConfigJson()), &parsed->json);
    if (!status.ok()) BadEmbeddedConfig(status.ToString());
    bool service_retry_found = false;
    for (const google::protobuf::Value& entry :
         parsed->json.fields().at("methodConfig").list_value().values()) {
      const auto& fields = entry.struct_value().fields();
      const auto timeout = fields.find("timeout");
      const auto retry = fields.find("retryPolicy");
      for (const google::protobuf::Value& name :
           fields.at("name").list_value().values()) {
        const auto& name_fields = name.struct_value().fields();
        const std::string service = name_fields.at("service").string_value();
        const auto method = name_fields.find("method");
        const std::string key = absl::StrCat(
            service, "/",
            method == name_fields.end() ? "" : method->second.string_value());
        if (timeout != fields.end()) {
          parsed->timeouts[key] = JsonToDuration(timeout->second);
        }
        if (key == absl::StrCat(kService, "/") && retry != fields.end()) {
          const auto& r = retry->second.struct_value().fields();
          parsed->service_retry.max_attempts =
              static_cast<int>(r.at("maxAttempts").number_value());
          parsed->service_retry.initial_backoff =
              JsonToDuration(r.at("initialBackoff"));
          parsed->service_retry.max_backoff =
              JsonToDuration(r.at("maxBackoff"));
          parsed->service_retry.backoff_multiplier =
              r.at("backoffMultiplier").number_value();
          service_retry_found = true;
        }
      }
    }
    if (!service_retry_found) {
      BadEmbeddedConfig("no retryPolicy for tutoring.v1.TutoringService");
    }
    return parsed;
  }();
  return *config;
}

// The file's timeout of `service`/`method`, else of `service`.
std::optional<absl::Duration> FileTimeout(absl::string_view service,
                                          absl::string_view method) {
  const auto& timeouts = EmbeddedConfig().timeouts;
  auto found = timeouts.find(absl::StrCat(service, "/", method));
  if (found == timeouts.end()) found = timeouts.find(absl::StrCat(service, "/"));
  if (found == timeouts.end()) return std::nullopt;
  return found->second;
}

bool SameRetry(const RetryPolicy& a, const RetryPolicy& b) {
  return a.max_attempts == b.max_attempts &&
         a.initial_backoff == b.initial_backoff &&
         a.max_backoff == b.max_backoff &&
         a.backoff_multiplier == b.backoff_multiplier;
}

// The channel's service config: the embedded one without its timeouts (the
// client sets each call's deadline itself, so that a caller's longer
// deadline is not cut to the file's: gRPC would take the smaller), and with
// `retry` in every retryPolicy of TutoringService when it differs from the
// file's (none at all when retries are off: gRPC rejects maxAttempts < 2).
std::string ChannelServiceConfig(const RetryPolicy& retry) {
  google::protobuf::Struct json = EmbeddedConfig().json;
  const bool replace_retry = !SameRetry(retry, DefaultRetryPolicy());
  for (google::protobuf::Value& entry : *(*json.mutable_fields())["methodConfig"]
                                             .mutable_list_value()
                                             ->mutable_values()) {
    auto& fields = *entry.mutable_struct_value()->mutable_fields();
    fields.erase("timeout");
    if (!replace_retry || fields.find("retryPolicy") == fields.end()) continue;
    if (retry.max_attempts < 2) {
      fields.erase("retryPolicy");
      continue;
    }
    auto& r = *fields["retryPolicy"].mutable_struct_value()->mutable_fields();
    r["maxAttempts"].set_number_value(retry.max_attempts);
    r["initialBackoff"].set_string_value(JsonDuration(retry.initial_backoff));
    r["maxBackoff"].set_string_value(JsonDuration(retry.max_backoff));
    r["backoffMultiplier"].set_number_value(retry.backoff_multiplier);
  }
  std::string text;
  const auto status = google::protobuf::util::MessageToJsonString(json, &text);
  if (!status.ok()) BadEmbeddedConfig(status.ToString());
  return text;
}

absl::Status CheckOptions(const ClientOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("target must not be empty");
  }
  if (options.default_deadline.has_value() &&
      *options.default_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_deadline must be > 0, got ",
                     absl::FormatDuration(*options.default_deadline)));
  }
  const RetryPolicy& retry = options.retry;
  if (retry.max_attempts < 1 || retry.max_attempts > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry.max_attempts must be in [1, 5], got ", retry.max_attempts));
  }
  if (retry.initial_backoff <= absl::ZeroDuration() ||
      retry.initial_backoff == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry.initial_backoff must be > 0 and finite, got ",
                     absl::FormatDuration(retry.initial_backoff)));
  }
  if (retry.max_backoff <= absl::ZeroDuration() ||
      retry.max_backoff == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry.max_backoff must be > 0 and finite, got ",
                     absl::FormatDuration(retry.max_backoff)));
  }
  // Written so that NaN fails too.
  if (!(retry.backoff_multiplier > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry.backoff_multiplier must be > 0, got ",
                     retry.backoff_multiplier));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPem(absl::string_view field,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The channel credentials `options` ask for, and the channel arguments
// they need.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const ClientOptions& options, grpc::ChannelArguments& arguments) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = options.credentials;
  if (credentials == nullptr && options.tls.has_value()) {
    const TlsOptions& tls = *options.tls;
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      return absl::InvalidArgumentError(
          "tls.cert_file and tls.key_file must be given together");
    }
    grpc::SslCredentialsOptions ssl;
    if (!tls.ca_file.empty()) {
      absl::StatusOr<std::string> pem = ReadPem("tls.ca_file", tls.ca_file);
      if (!pem.ok()) return pem.status();
      ssl.pem_root_certs = *std::move(pem);
    }
    if (!tls.cert_file.empty()) {
      absl::StatusOr<std::string> cert =
          ReadPem("tls.cert_file", tls.cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem("tls.key_file", tls.key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    if (!tls.server_name.empty()) {
      arguments.SetSslTargetNameOverride(tls.server_name);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  if (!options.bearer_token.empty()) {
    if (credentials == nullptr) {
      return absl::InvalidArgumentError(
          "bearer_token needs TLS (tls or credentials): gRPC sends no token "
          "over plaintext");
    }
    credentials = grpc::CompositeChannelCredentials(
        credentials, grpc::AccessTokenCredentials(options.bearer_token));
  }
  if (credentials == nullptr) return grpc::InsecureChannelCredentials();
  return credentials;
}

}  // namespace

RetryPolicy DefaultRetryPolicy() { return EmbeddedConfig().service_retry; }

std::optional<absl::Duration> DefaultTimeout(absl::string_view method) {
  return FileTimeout(kService, method);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::string_view ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kUnknown:
      return "UNKNOWN";
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    const ClientOptions& options) {
  if (absl::Status status = CheckOptions(options); !status.ok()) {
    return status;
  }
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(ChannelServiceConfig(options.retry));
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeCredentials(options, arguments);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments health_arguments = arguments;
  health_arguments.SetInt(GRPC_ARG_INHIBIT_HEALTH_CHECKING, 1);
  return std::unique_ptr<Client>(new Client(
      options,
      grpc::CreateCustomChannel(options.target, *credentials, arguments),
      grpc::CreateCustomChannel(options.target, *credentials,
                                health_arguments)));
}

Client::Client(const ClientOptions& options,
               std::shared_ptr<grpc::Channel> channel,
               std::shared_ptr<grpc::Channel> health_channel)
    : options_(options),
      channel_(std::move(channel)),
      health_channel_(std::move(health_channel)),
      stub_(v1::TutoringService::NewStub(channel_)) {}

absl::Status Client::PrepareContext(absl::string_view method,
                                    std::optional<absl::Duration> deadline,
                                    grpc::ClientContext& context) const {
  if (!deadline.has_value()) deadline = options_.default_deadline;
  if (!deadline.has_value()) {
    deadline = method == "Health/Check"
                   ? FileTimeout("grpc.health.v1.Health", "Check")
                   : DefaultTimeout(method);
  }
  const absl::Duration timeout = deadline.value_or(absl::InfiniteDuration());
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "deadline must be > 0, got ", absl::FormatDuration(timeout)));
  }
  if (timeout == absl::InfiniteDuration()) return absl::OkStatus();
  // A relative deadline (GPR_TIMESPAN): gRPC adds it to its own clock when
  // the call starts, so the client never reads the time itself.
  context.set_deadline(
      gpr_time_from_nanos(absl::ToInt64Nanoseconds(timeout), GPR_TIMESPAN));
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    absl::string_view name,
    grpc::Status (v1::TutoringService::Stub::*method)(grpc::ClientContext*,
                                                      const Request&,
                                                      Response*),
    const Request& request, std::optional<absl::Duration> deadline) const {
  grpc::ClientContext context;
  if (absl::Status status = PrepareContext(name, deadline, context);
      !status.ok()) {
    return status;
  }
  Response response;
  const grpc::Status status =
      (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::ListActiveUsersResponse> Client::ListActiveUsers(
    const v1::ListActiveUsersRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("ListActiveUsers", &v1::TutoringService::Stub::ListActiveUsers, request,
              deadline);
}

absl::StatusOr<v1::ListUsersByRoleResponse> Client::ListUsersByRole(
    const v1::ListUsersByRoleRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("ListUsersByRole", &v1::TutoringService::Stub::ListUsersByRole, request,
              deadline);
}

absl::StatusOr<v1::GetUserRoleResponse> Client::GetUserRole(
    const v1::GetUserRoleRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("GetUserRole", &v1::TutoringService::Stub::GetUserRole, request,
              deadline);
}

absl::StatusOr<v1::ListExercisesResponse> Client::ListExercises(
    const v1::ListExercisesRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("ListExercises", &v1::TutoringService::Stub::ListExercises, request,
              deadline);
}

absl::StatusOr<v1::Streak> Client::GetStreak(
    const v1::GetStreakRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("GetStreak", &v1::TutoringService::Stub::GetStreak, request,
              deadline);
}

absl::StatusOr<v1::BatchGetStreaksResponse> Client::BatchGetStreaks(
    const v1::BatchGetStreaksRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call("BatchGetStreaks", &v1::TutoringService::Stub::BatchGetStreaks, request,
              deadline);
}

absl::StatusOr<ServingStatus> Client::CheckHealth(
    absl::string_view service, std::optional<absl::Duration> deadline) const {
  grpc::ClientContext context;
  if (absl::Status status = PrepareContext("Health/Check", deadline, context);
      !status.ok()) {
    return status;
  }
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(health_channel_)->Check(&context, request,
                                                         &response);
  if (!status.ok()) return FromGrpcStatus(status);
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return ServingStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return ServingStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::kServiceUnknown;
    default:
      return ServingStatus::kUnknown;
  }
}

absl::StatusOr<std::vector<v1::User>> Client::ListAllActiveUsers(
    v1::ListActiveUsersRequest request,
    std::optional<absl::Duration> deadline_per_page) const {
  std::vector<v1::User> users;
  absl::Status walked = ForEachPage(
      &Client::ListActiveUsers, std::move(request),
      [&users](const v1::ListActiveUsersResponse& page) {
        users.insert(users.end(), page.users().begin(), page.users().end());
        return absl::OkStatus();
      },
      deadline_per_page);
  if (!walked.ok()) return walked;
  return users;
}

absl::StatusOr<std::vector<v1::User>> Client::ListAllUsersByRole(
    v1::ListUsersByRoleRequest request,
    std::optional<absl::Duration> deadline_per_page) const {
  std::vector<v1::User> users;
  absl::Status walked = ForEachPage(
      &Client::ListUsersByRole, std::move(request),
      [&users](const v1::ListUsersByRoleResponse& page) {
        users.insert(users.end(), page.users().begin(), page.users().end());
        return absl::OkStatus();
      },
      deadline_per_page);
  if (!walked.ok()) return walked;
  return users;
}

absl::StatusOr<std::vector<v1::Exercise>> Client::ListAllExercises(
    v1::ListExercisesRequest request,
    std::optional<absl::Duration> deadline_per_page) const {
  std::vector<v1::Exercise> exercises;
  absl::Status walked = ForEachPage(
      &Client::ListExercises, std::move(request),
      [&exercises](const v1::ListExercisesResponse& page) {
        exercises.insert(exercises.end(), page.exercises().begin(),
                         page.exercises().end());
        return absl::OkStatus();
      },
      deadline_per_page);
  if (!walked.ok()) return walked;
  return exercises;
}

}  // namespace tutoring
