// tutoring.v1.TutoringService on gRPC's callback API: a thin adapter that
// gives each call a db::CallContext (its deadline, or the default one for
// calls that arrive without; cancelled when the client goes away), runs the
// transport-free TutoringService and finishes the call once with the
// status mapped by ToGrpcStatus. Logging, metrics and what callers see of
// server-side failures are the call telemetry's (server/call_telemetry.h).
#ifndef TUTORING_SERVER_GRPC_SERVICE_H_
#define TUTORING_SERVER_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/time/time.h"
#include "common/clock.h"
#include "server/service.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::server {

struct GrpcServiceOptions {
  // Deadline given to calls that arrive without one; it bounds the wait for
  // a database connection and the query.
  absl::Duration default_deadline = absl::Seconds(10);
};

// The deadline a call runs under: the client's, or `now` + `fallback` when
// the client sent none (gRPC reports that as time_point::max()) or one so
// large that it overflowed (it then lies more than a day in the past).
absl::Time CallDeadline(std::chrono::system_clock::time_point client_deadline,
                        absl::Time now, absl::Duration fallback);

// Thread-safe. `service` and `clock` must outlive it.
class GrpcTutoringService final : public v1::TutoringService::CallbackService {
 public:
  GrpcTutoringService(const TutoringService& service, const Clock& clock,
                      GrpcServiceOptions options);

  grpc::ServerUnaryReactor* ListActiveUsers(
      grpc::CallbackServerContext* context,
      const v1::ListActiveUsersRequest* request,
      v1::ListActiveUsersResponse* response) override;
  grpc::ServerUnaryReactor* ListUsersByRole(
      grpc::CallbackServerContext* context,
      const v1::ListUsersByRoleRequest* request,
      v1::ListUsersByRoleResponse* response) override;
  grpc::ServerUnaryReactor* GetUserRole(
      grpc::CallbackServerContext* context,
      const v1::GetUserRoleRequest* request,
      v1::GetUserRoleResponse* response) override;
  grpc::ServerUnaryReactor* ListExercises(
      grpc::CallbackServerContext* context,
      const v1::ListExercisesRequest* request,
      v1::ListExercisesResponse* response) override;
  grpc::ServerUnaryReactor* GetStreak(grpc::CallbackServerContext* context,
                                      const v1::GetStreakRequest* request,
                                      v1::Streak* response) override;
  grpc::ServerUnaryReactor* BatchGetStreaks(
      grpc::CallbackServerContext* context,
      const v1::BatchGetStreaksRequest* request,
      v1::BatchGetStreaksResponse* response) override;

 private:
  class Call;

  // Starts the reactor of one call.
  template <typename Request, typename Response, typename Method>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const Request* request, Response* response,
                                  Method handler);

  // Constant after construction.
  const TutoringService& service_;
  const Clock& clock_;
  const GrpcServiceOptions options_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_SERVICE_H_
