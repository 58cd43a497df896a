#include "client/client.h"

#include <grpc/support/time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tutoring {
namespace {

// A duration as the proto JSON mapping of google.protobuf.Duration writes
// it ("0.100000000s"), which is what service configs expect. Rounded up to
// whole nanoseconds, so a positive duration stays positive.
std::string JsonDuration(absl::Duration d) {
  d = absl::Ceil(d, absl::Nanoseconds(1));
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  return absl::StrFormat("%d.%09ds", seconds, absl::ToInt64Nanoseconds(d));
}

// The channel's service config: the retry policy for every method of
// TutoringService (all of them are reads). No retryPolicy at all when
// retries are off, since gRPC rejects maxAttempts < 2.
std::string ServiceConfigJson(const RetryPolicy& retry) {
  if (retry.max_attempts < 2) return "";
  return absl::StrCat(
      R"({"methodConfig":[{"name":[{"service":"tutoring.v1.TutoringService"}],)",
      R"("retryPolicy":{"maxAttempts":)", retry.max_attempts,
      R"(,"initialBackoff":")", JsonDuration(retry.initial_backoff),
      R"(","maxBackoff":")", JsonDuration(retry.max_backoff),
      R"(","backoffMultiplier":)",
      absl::StrFormat("%.6g", retry.backoff_multiplier),
      R"(,"retryableStatusCodes":["UNAVAILABLE"]}}]})");
}

absl::Status CheckOptions(const ClientOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("target must not be empty");
  }
  if (options.default_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_deadline must be > 0, got ",
                     absl::FormatDuration(options.default_deadline)));
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
  const std::string service_config = ServiceConfigJson(options.retry);
  if (!service_config.empty()) {
    arguments.SetServiceConfigJSON(service_config);
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeCredentials(options, arguments);
  if (!credentials.ok()) return credentials.status();
  return std::unique_ptr<Client>(new Client(
      options,
      grpc::CreateCustomChannel(options.target, *credentials, arguments)));
}

Client::Client(const ClientOptions& options,
               std::shared_ptr<grpc::Channel> channel)
    : options_(options),
      channel_(std::move(channel)),
      stub_(v1::TutoringService::NewStub(channel_)) {}

absl::Status Client::PrepareContext(std::optional<absl::Duration> deadline,
                                    grpc::ClientContext& context) const {
  const absl::Duration timeout = deadline.value_or(options_.default_deadline);
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
    grpc::Status (v1::TutoringService::Stub::*method)(grpc::ClientContext*,
                                                      const Request&,
                                                      Response*),
    const Request& request, std::optional<absl::Duration> deadline) const {
  grpc::ClientContext context;
  if (absl::Status status = PrepareContext(deadline, context); !status.ok()) {
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
  return Call(&v1::TutoringService::Stub::ListActiveUsers, request, deadline);
}

absl::StatusOr<v1::ListUsersByRoleResponse> Client::ListUsersByRole(
    const v1::ListUsersByRoleRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call(&v1::TutoringService::Stub::ListUsersByRole, request, deadline);
}

absl::StatusOr<v1::GetUserRoleResponse> Client::GetUserRole(
    const v1::GetUserRoleRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call(&v1::TutoringService::Stub::GetUserRole, request, deadline);
}

absl::StatusOr<v1::ListExercisesResponse> Client::ListExercises(
    const v1::ListExercisesRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call(&v1::TutoringService::Stub::ListExercises, request, deadline);
}

absl::StatusOr<v1::Streak> Client::GetStreak(
    const v1::GetStreakRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call(&v1::TutoringService::Stub::GetStreak, request, deadline);
}

absl::StatusOr<v1::BatchGetStreaksResponse> Client::BatchGetStreaks(
    const v1::BatchGetStreaksRequest& request,
    std::optional<absl::Duration> deadline) const {
  return Call(&v1::TutoringService::Stub::BatchGetStreaks, request, deadline);
}

absl::StatusOr<ServingStatus> Client::CheckHealth(
    absl::string_view service, std::optional<absl::Duration> deadline) const {
  grpc::ClientContext context;
  if (absl::Status status = PrepareContext(deadline, context); !status.ok()) {
    return status;
  }
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(channel_)->Check(&context, request,
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
