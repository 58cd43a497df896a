// tutoring.v1.TutoringService on gRPC's callback API. Each handler
// validates its request, hands one query to the repository and returns; the
// repository's completion converts the rows and finishes the call once.
// No handler blocks a gRPC thread on the database.
#ifndef TUTORING_SERVER_SERVICE_H_
#define TUTORING_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "common/clock.h"
#include "db/repository.h"
#include "server/page_token.h"
#include "server/time_zones.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::server {

struct ServiceOptions {
  // Deadline given to calls that arrive without one; it bounds the wait for
  // a database connection and the query.
  absl::Duration default_deadline = absl::Seconds(10);
};

// Thread-safe. The collaborators must outlive the service.
class TutoringService final : public v1::TutoringService::CallbackService {
 public:
  TutoringService(db::Repository& repository, const PageTokenCodec& tokens,
                  const TimeZoneNames& zones, const Clock& clock,
                  ServiceOptions options);

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
  class UnaryCall;

  UnaryCall* StartCall(grpc::CallbackServerContext* context,
                       absl::string_view method) const;

  // Constant after construction.
  db::Repository& repository_;
  const PageTokenCodec& tokens_;
  const TimeZoneNames& zones_;
  const Clock& clock_;
  const ServiceOptions options_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_SERVICE_H_
