// The typed client of tutoring.v1.TutoringService for other services: one
// method per RPC, a deadline on every call, retries of UNAVAILABLE, results
// as absl::StatusOr. Installed as <tutoring/client.h>; link the CMake target
// tutoring::client (find_package(tutoring_client CONFIG REQUIRED)). The
// generated messages and stubs it uses are installed with it as
// <tutoring/v1/tutoring.pb.h> and <tutoring/v1/tutoring.grpc.pb.h>.
// CheckHealth links generated grpc.health.v1 code (no headers installed); a
// program that links its own generated health.proto code as well would
// register that file twice in protobuf's descriptor pool.
//
// Service config: every client of this project (C++, Python, Node) starts
// from one file, client/service_config.json, embedded into this library when
// it is built (DefaultServiceConfigJson()): the retry policy, the per-method
// default timeouts, round_robin load balancing and client-side health
// checking of "tutoring.v1.TutoringService" (a connection whose server
// reports NOT_SERVING, e.g. because its database is unreachable, gets no
// calls while another connection can take them). ClientOptions may override
// the file's retry policy and timeouts for one client (see there).
//
// Retries: every RPC of TutoringService is a read, so retrying one is always
// safe. Retries are gRPC's own (the channel's service config, a retryPolicy
// with retryableStatusCodes ["UNAVAILABLE"]): an attempt that ends in
// UNAVAILABLE (no connection, a server going away, or a server reporting its
// database unreachable) is repeated after a randomized exponential backoff,
// up to RetryPolicy::max_attempts attempts in all. Other codes are returned
// at once. A call's deadline covers all of its attempts. Health checks are
// not retried: a probe reports what it sees.
//
// Errors: the gRPC status of the call, as an absl::Status with the same
// canonical code and message (see FromGrpcStatus and the codes listed in
// tutoring.proto): INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE,
// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ...
#ifndef TUTORING_CLIENT_CLIENT_H_
#define TUTORING_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tutoring/v1/tutoring.grpc.pb.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring {

// How a call that ends in UNAVAILABLE is retried (gRPC retry semantics,
// gRFC A6): attempt n+1 starts after a random delay in [0, b_n), where b_1 =
// initial_backoff and b_{n+1} = min(b_n * backoff_multiplier, max_backoff).
struct RetryPolicy {
  // Attempts in all, the first included: 1 (no retries) to 5 (gRPC's
  // limit).
  int max_attempts = 4;
  // Must be > 0 and finite.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // Must be > 0 and finite.
  absl::Duration max_backoff = absl::Seconds(2);
  // Must be > 0.
  double backoff_multiplier = 2.0;
};

// The service config all clients load: the text of client/service_config.json
// as it was when this library was built.
absl::string_view DefaultServiceConfigJson();

// The retry policy DefaultServiceConfigJson() gives TutoringService as a
// whole (its methodConfig naming the service alone).
RetryPolicy DefaultRetryPolicy();

// The default timeout DefaultServiceConfigJson() gives `method` of
// TutoringService ("GetStreak"), the service's own when the method has none
// of its own, std::nullopt when the file sets none.
std::optional<absl::Duration> DefaultTimeout(absl::string_view method);
// TLS towards the server (gRPC's SslCredentials).
struct TlsOptions {
  // PEM CA bundle the server's certificate must chain to; "" trusts the
  // system's roots (gRPC's default roots file).
  std::string ca_file;
  // PEM client certificate chain and its private key, for servers that
  // require one (mTLS); both or neither.
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry (and the TLS SNI) instead
  // of the target's host name, e.g. when connecting by IP address.
  std::string server_name;
};

struct ClientOptions {
  // gRPC target: "host:port", "dns:///host:port", "unix:/path", ...
  std::string target = "127.0.0.1:50051";
  // Channel credentials; nullptr means `tls` when set, else plaintext
  // (insecure) connections.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // TLS (and mTLS) from PEM files; only when `credentials` is nullptr.
  std::optional<TlsOptions> tls;
  // When not empty, every call carries "authorization: Bearer <token>"
  // (gRPC's AccessTokenCredentials). Needs TLS or `credentials`: gRPC sends
  // no token over a plaintext connection.
  std::string bearer_token;
  // Deadline of calls made without one of their own; must be > 0
  // (absl::InfiniteDuration() means no deadline). Unset: each method's
  // timeout in the service config (DefaultTimeout).
  std::optional<absl::Duration> default_deadline;
  // The retry policy of every method. Left as it is (DefaultRetryPolicy()),
  // the service config's per-method policies apply unchanged; changed, it
  // replaces them all.
  RetryPolicy retry = DefaultRetryPolicy();
};

// The same canonical code (absl and gRPC share google.rpc.Code's numbering)
// and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// What grpc.health.v1.Health reports for a service name (the values of
// HealthCheckResponse.ServingStatus).
enum class ServingStatus {
  kUnknown = 0,
  kServing = 1,
  kNotServing = 2,
  kServiceUnknown = 3,
};

// "UNKNOWN", "SERVING", "NOT_SERVING" or "SERVICE_UNKNOWN" (the proto enum
// value names).
absl::string_view ServingStatusName(ServingStatus status);

// Thread-safe: one Client may serve any number of threads at once (calls
// share one channel, which multiplexes them over its connection).
class Client {
 public:
  // Checks `options` (INVALID_ARGUMENT naming the field and the rule, or a
  // TLS file that cannot be read) and creates the channel. No connection is made until the first call, so this
  // succeeds whether or not a server is listening.
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Every call below: `deadline` is how long the call (all its attempts)
  // may take, options().default_deadline when not given, else the method's
  // timeout in the service config; a deadline <= 0 is
  // INVALID_ARGUMENT and no call is made, absl::InfiniteDuration() is none.
  // Errors are the server's (see the top of this file and tutoring.proto).

  absl::StatusOr<v1::ListActiveUsersResponse> ListActiveUsers(
      const v1::ListActiveUsersRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  absl::StatusOr<v1::ListUsersByRoleResponse> ListUsersByRole(
      const v1::ListUsersByRoleRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  absl::StatusOr<v1::GetUserRoleResponse> GetUserRole(
      const v1::GetUserRoleRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  absl::StatusOr<v1::ListExercisesResponse> ListExercises(
      const v1::ListExercisesRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  absl::StatusOr<v1::Streak> GetStreak(
      const v1::GetStreakRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;
  absl::StatusOr<v1::BatchGetStreaksResponse> BatchGetStreaks(
      const v1::BatchGetStreaksRequest& request,
      std::optional<absl::Duration> deadline = std::nullopt) const;

  // grpc.health.v1.Health/Check for `service` ("" = the whole server,
  // "tutoring.v1.TutoringService" = the API). NOT_FOUND when the server
  // does not know the name. Not retried.
  absl::StatusOr<ServingStatus> CheckHealth(
      absl::string_view service = "",
      std::optional<absl::Duration> deadline = std::nullopt) const;

  // Walks a list RPC page by page: calls `list` with `request`, passes the
  // page to `visit`, and repeats with the page's next_page_token until it is
  // empty. `visit` takes `const Response&` and returns absl::Status; the walk
  // stops at the first error, of a call or of `visit`, and returns it.
  // `deadline` applies to each page's call separately. INTERNAL if the
  // server hands back the token it was given (the walk would never end).
  // Example:
  //   client.ForEachPage(&Client::ListExercises, request,
  //       [&](const v1::ListExercisesResponse& page) { ...; return
  //       absl::OkStatus(); });
  template <typename Request, typename Response, typename Visitor>
  absl::Status ForEachPage(
      absl::StatusOr<Response> (Client::*list)(const Request&,
                                               std::optional<absl::Duration>)
          const,
      Request request, Visitor&& visit,
      std::optional<absl::Duration> deadline = std::nullopt) const;

  // Every row of a list, all pages concatenated in order (ForEachPage;
  // `request.page_token` is where the walk starts, normally "").
  absl::StatusOr<std::vector<v1::User>> ListAllActiveUsers(
      v1::ListActiveUsersRequest request,
      std::optional<absl::Duration> deadline_per_page = std::nullopt) const;
  absl::StatusOr<std::vector<v1::User>> ListAllUsersByRole(
      v1::ListUsersByRoleRequest request,
      std::optional<absl::Duration> deadline_per_page = std::nullopt) const;
  absl::StatusOr<std::vector<v1::Exercise>> ListAllExercises(
      v1::ListExercisesRequest request,
      std::optional<absl::Duration> deadline_per_page = std::nullopt) const;

  const ClientOptions& options() const { return options_; }

 private:
  // The ClientContext of one call of `method` (of TutoringService, or
  // "Health/Check") with the given (or default) deadline; INVALID_ARGUMENT
  // for a deadline <= 0.
  absl::Status PrepareContext(absl::string_view method,
                              std::optional<absl::Duration> deadline,
                              grpc::ClientContext& context) const;

  // One unary call of `method` (named `name`) with PrepareContext's
  // deadline.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      absl::string_view name,
      grpc::Status (v1::TutoringService::Stub::*method)(grpc::ClientContext*,
                                                        const Request&,
                                                        Response*),
      const Request& request, std::optional<absl::Duration> deadline) const;

  Client(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel,
         std::shared_ptr<grpc::Channel> health_channel);

  // Constant after construction.
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  // The same target without client-side health checking, for CheckHealth:
  // on channel_ a server reporting NOT_SERVING gets no calls, so a probe
  // could never see that answer.
  const std::shared_ptr<grpc::Channel> health_channel_;
  const std::unique_ptr<v1::TutoringService::Stub> stub_;
};

template <typename Request, typename Response, typename Visitor>
absl::Status Client::ForEachPage(absl::StatusOr<Response> (Client::*list)(
                                     const Request&,
                                     std::optional<absl::Duration>) const,
                                 Request request, Visitor&& visit,
                                 std::optional<absl::Duration> deadline) const {
  while (true) {
    absl::StatusOr<Response> page = (this->*list)(request, deadline);
    if (!page.ok()) return page.status();
    absl::Status visited = visit(static_cast<const Response&>(*page));
    if (!visited.ok()) return visited;
    if (page->next_page_token().empty()) return absl::OkStatus();
    if (page->next_page_token() == request.page_token()) {
      return absl::InternalError(
          "the server returned the page token it was given; stopping the "
          "walk");
    }
    request.set_page_token(page->next_page_token());
  }
}

}  // namespace tutoring

#endif  // TUTORING_CLIENT_CLIENT_H_
