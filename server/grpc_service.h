// tutoring.v1.TutoringService on gRPC's callback API: a thin adapter that
// parses the request, asks CallAdmission (server/admission.h), gives each
// admitted call a db::CallContext (its deadline, or the default one for
// calls that arrive without; cancelled when the client goes away), runs the
// transport-free TutoringService and finishes the call once with the
// status mapped by ToGrpcStatus. Logging, metrics and what callers see of
// server-side failures are the call telemetry's (server/call_telemetry.h).
#ifndef TUTORING_SERVER_GRPC_SERVICE_H_
#define TUTORING_SERVER_GRPC_SERVICE_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/admission.h"
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

// Parses a call's request from the bytes it arrived as. INVALID_ARGUMENT
// naming the message type when they are not a valid one.
absl::Status ParseRequest(grpc::ByteBuffer& bytes,
                          google::protobuf::Message* request);

// The user ids a call asks for, as CallAdmission counts them: the distinct
// ids of BatchGetStreaks (the database's work; a repeated id costs nothing),
// none for the other methods.
template <typename Request>
int AdmissionBatchIds(const Request& /*request*/) {
  return 0;
}
int AdmissionBatchIds(const v1::BatchGetStreaksRequest& request);

// Asks `admission` about a call asking for `batch_ids` user ids. True: run
// the call, and call admission.Finished(batch_ids) once it ends. False: the
// call is answered through `complete` (with the refusal now, or with
// UNAVAILABLE later if it is held during a drain).
template <typename Complete>
bool AdmitCall(CallAdmission& admission, int batch_ids, Complete complete) {
  absl::Status refusal;
  switch (admission.Admit(batch_ids, &refusal, complete)) {
    case CallAdmission::Verdict::kAdmitted:
      return true;
    case CallAdmission::Verdict::kRefused:
      complete(refusal);
      return false;
    case CallAdmission::Verdict::kHeld:
      return false;
  }
  return false;
}

// Requests and responses travel as bytes, parsed and serialized by the
// adapter (so that a body that is not a valid message is answered
// INVALID_ARGUMENT; gRPC's own parsing answers UNIMPLEMENTED without a
// message on this API).
using RawCallbackService =
    v1::TutoringService::WithRawCallbackMethod_ListActiveUsers<
        v1::TutoringService::WithRawCallbackMethod_ListUsersByRole<
            v1::TutoringService::WithRawCallbackMethod_GetUserRole<
                v1::TutoringService::WithRawCallbackMethod_ListExercises<
                    v1::TutoringService::WithRawCallbackMethod_GetStreak<
                        v1::TutoringService::WithRawCallbackMethod_BatchGetStreaks<
                            v1::TutoringService::Service>>>>>>;

// Thread-safe. `service`, `admission` and `clock` must outlive it.
class GrpcTutoringService final : public RawCallbackService {
 public:
  GrpcTutoringService(const TutoringService& service, CallAdmission& admission,
                      const Clock& clock, GrpcServiceOptions options);

  grpc::ServerUnaryReactor* ListActiveUsers(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListUsersByRole(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetUserRole(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListExercises(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetStreak(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchGetStreaks(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;

 private:
  template <typename Request, typename Response>
  class Call;

  // Starts the reactor of one call.
  template <typename Request, typename Response, typename Method>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response, Method handler);

  // Constant after construction.
  const TutoringService& service_;
  CallAdmission& admission_;
  const Clock& clock_;
  const GrpcServiceOptions options_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_SERVICE_H_
