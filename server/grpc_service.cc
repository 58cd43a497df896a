#include "server/grpc_service.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "db/call_context.h"
#include "server/grpc_status.h"

namespace tutoring::server {

absl::Time CallDeadline(std::chrono::system_clock::time_point client_deadline,
                        absl::Time now, absl::Duration fallback) {
  if (client_deadline == std::chrono::system_clock::time_point::max()) {
    return now + fallback;
  }
  const absl::Time deadline = absl::FromChrono(client_deadline);
  // gRPC turns a grpc-timeout beyond the year 2262 (grpc-go sends 2562047H
  // for its largest) into a time_point that overflowed into the distant
  // past. No real deadline lies a day behind the clock: treat it as none.
  if (deadline < now - absl::Hours(24)) return now + fallback;
  return deadline;
}

// The reactor of one call. gRPC owns it from the handler's return until
// OnDone, which deletes it (the callback API's ownership model).
class GrpcTutoringService::Call final : public grpc::ServerUnaryReactor {
 public:
  explicit Call(absl::Time deadline)
      : context_(std::make_shared<db::CallContext>(deadline)) {}

  const std::shared_ptr<db::CallContext>& context() const { return context_; }

  // Finishes the call; runs exactly once.
  void Complete(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }

  void OnCancel() override { context_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  const std::shared_ptr<db::CallContext> context_;
};

GrpcTutoringService::GrpcTutoringService(const TutoringService& service,
                                         const Clock& clock,
                                         GrpcServiceOptions options)
    : service_(service), clock_(clock), options_(options) {}

template <typename Request, typename Response, typename Method>
grpc::ServerUnaryReactor* GrpcTutoringService::Serve(
    grpc::CallbackServerContext* context,
    const Request* request, Response* response, Method handler) {
  Call* call = new Call(CallDeadline(context->deadline(), clock_.Now(),
                                             options_.default_deadline));
  (service_.*handler)(*request, response, call->context(),
                      [call](absl::Status status) { call->Complete(status); });
  return call;
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListActiveUsers(
    grpc::CallbackServerContext* context,
    const v1::ListActiveUsersRequest* request,
    v1::ListActiveUsersResponse* response) {
  return Serve(context, request, response,
               &TutoringService::ListActiveUsers);
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListUsersByRole(
    grpc::CallbackServerContext* context,
    const v1::ListUsersByRoleRequest* request,
    v1::ListUsersByRoleResponse* response) {
  return Serve(context, request, response,
               &TutoringService::ListUsersByRole);
}

grpc::ServerUnaryReactor* GrpcTutoringService::GetUserRole(
    grpc::CallbackServerContext* context, const v1::GetUserRoleRequest* request,
    v1::GetUserRoleResponse* response) {
  return Serve(context, request, response,
               &TutoringService::GetUserRole);
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListExercises(
    grpc::CallbackServerContext* context,
    const v1::ListExercisesRequest* request,
    v1::ListExercisesResponse* response) {
  return Serve(context, request, response,
               &TutoringService::ListExercises);
}

grpc::ServerUnaryReactor* GrpcTutoringService::GetStreak(
    grpc::CallbackServerContext* context, const v1::GetStreakRequest* request,
    v1::Streak* response) {
  return Serve(context, request, response,
               &TutoringService::GetStreak);
}

grpc::ServerUnaryReactor* GrpcTutoringService::BatchGetStreaks(
    grpc::CallbackServerContext* context,
    const v1::BatchGetStreaksRequest* request,
    v1::BatchGetStreaksResponse* response) {
  return Serve(context, request, response,
               &TutoringService::BatchGetStreaks);
}

}  // namespace tutoring::server
