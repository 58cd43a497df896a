// tutoring.v1.TutoringService's logic, apart from any transport: each method
// validates its request, asks the repository one question, converts the rows
// into the response and reports the outcome once. The gRPC adapter
// (server/grpc_service.h) and unit tests call it alike; nothing here touches
// a socket or blocks a thread on the database.
#ifndef TUTORING_SERVER_SERVICE_H_
#define TUTORING_SERVER_SERVICE_H_

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "common/clock.h"
#include "db/call_context.h"
#include "db/repository.h"
#include "server/page_token.h"
#include "server/time_zones.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::server {

// Every method has the same contract:
// - `request` and `response` are the caller's and must stay valid until
//   `done` has run; `response` is filled only when the outcome is OK.
// - `call` carries the call's deadline and cancellation to the database.
// - `done` runs exactly once: inline (before the method returns) when the
//   request is invalid, otherwise on whichever thread completes the query.
// Outcomes: OK; INVALID_ARGUMENT with a message naming the field and the
// rule; NOT_FOUND for a missing user; and the repository's errors
// (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, CANCELLED, INTERNAL).
//
// Thread-safe. The collaborators must outlive the service and every call.
class TutoringService {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;

  TutoringService(db::Repository& repository, const PageTokenCodec& tokens,
                  const TimeZoneNames& zones, const Clock& clock);
  TutoringService(const TutoringService&) = delete;
  TutoringService& operator=(const TutoringService&) = delete;

  void ListActiveUsers(const v1::ListActiveUsersRequest& request,
                       v1::ListActiveUsersResponse* response,
                       std::shared_ptr<db::CallContext> call, Done done) const;
  void ListUsersByRole(const v1::ListUsersByRoleRequest& request,
                       v1::ListUsersByRoleResponse* response,
                       std::shared_ptr<db::CallContext> call, Done done) const;
  void GetUserRole(const v1::GetUserRoleRequest& request,
                   v1::GetUserRoleResponse* response,
                   std::shared_ptr<db::CallContext> call, Done done) const;
  void ListExercises(const v1::ListExercisesRequest& request,
                     v1::ListExercisesResponse* response,
                     std::shared_ptr<db::CallContext> call, Done done) const;
  // `as_of` unset means the clock's now.
  void GetStreak(const v1::GetStreakRequest& request, v1::Streak* response,
                 std::shared_ptr<db::CallContext> call, Done done) const;
  void BatchGetStreaks(const v1::BatchGetStreaksRequest& request,
                       v1::BatchGetStreaksResponse* response,
                       std::shared_ptr<db::CallContext> call, Done done) const;

 private:
  // Constant after construction.
  db::Repository& repository_;
  const PageTokenCodec& tokens_;
  const TimeZoneNames& zones_;
  const Clock& clock_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_SERVICE_H_
