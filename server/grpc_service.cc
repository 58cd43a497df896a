#include "server/grpc_service.h"

#include <grpcpp/impl/codegen/proto_buffer_reader.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

absl::Status ParseRequest(grpc::ByteBuffer& bytes,
                          google::protobuf::Message* request) {
  grpc::ProtoBufferReader reader(&bytes);
  if (!reader.status().ok() || !request->ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request body is not a valid ", request->GetTypeName(),
        " (protobuf wire format)"));
  }
  return absl::OkStatus();
}

int AdmissionBatchIds(const v1::BatchGetStreaksRequest& request) {
  absl::flat_hash_set<int64_t> distinct(request.user_ids().begin(),
                                        request.user_ids().end());
  return static_cast<int>(distinct.size());
}

// The reactor of one call, with its request and response. gRPC owns it from
// the handler's return until OnDone, which deletes it (the callback API's
// ownership model).
template <typename Request, typename Response>
class GrpcTutoringService::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(CallAdmission& admission, absl::Time deadline,
       grpc::ByteBuffer* response_bytes)
      : admission_(admission),
        context_(std::make_shared<db::CallContext>(deadline)),
        response_bytes_(response_bytes) {}

  template <typename Method>
  void Start(const TutoringService& service, Method handler,
             const grpc::ByteBuffer* request_bytes) {
    // ParseRequest reads the buffer through a reader that needs it mutable;
    // a copy only takes references to its slices.
    grpc::ByteBuffer bytes(*request_bytes);
    if (absl::Status parsed = ParseRequest(bytes, &request_); !parsed.ok()) {
      Complete(parsed);
      return;
    }
    batch_ids_ = AdmissionBatchIds(request_);
    if (!AdmitCall(admission_, batch_ids_,
                   [this](absl::Status status) { Complete(status); })) {
      return;
    }
    admitted_ = true;
    (service.*handler)(request_, &response_, context_,
                       [this](absl::Status status) { Complete(status); });
  }

  // Finishes the call; runs exactly once.
  void Complete(const absl::Status& status) {
    if (admitted_) admission_.Finished(batch_ids_);
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    bool own_buffer = false;
    Finish(grpc::SerializationTraits<Response>::Serialize(
        response_, response_bytes_, &own_buffer));
  }

  void OnCancel() override { context_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  CallAdmission& admission_;
  const std::shared_ptr<db::CallContext> context_;
  grpc::ByteBuffer* const response_bytes_;
  Request request_;
  Response response_;
  // Set before the call can complete.
  int batch_ids_ = 0;
  bool admitted_ = false;
};

GrpcTutoringService::GrpcTutoringService(const TutoringService& service,
                                         CallAdmission& admission,
                                         const Clock& clock,
                                         GrpcServiceOptions options)
    : service_(service),
      admission_(admission),
      clock_(clock),
      options_(options) {}

template <typename Request, typename Response, typename Method>
grpc::ServerUnaryReactor* GrpcTutoringService::Serve(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, Method handler) {
  auto* call = new Call<Request, Response>(
      admission_,
      CallDeadline(context->deadline(), clock_.Now(),
                   options_.default_deadline),
      response);
  call->Start(service_, handler, request);
  return call;
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListActiveUsers(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::ListActiveUsersRequest, v1::ListActiveUsersResponse>(context, request, response,
                                      &TutoringService::ListActiveUsers);
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListUsersByRole(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::ListUsersByRoleRequest, v1::ListUsersByRoleResponse>(context, request, response,
                                      &TutoringService::ListUsersByRole);
}

grpc::ServerUnaryReactor* GrpcTutoringService::GetUserRole(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::GetUserRoleRequest, v1::GetUserRoleResponse>(context, request, response,
                                      &TutoringService::GetUserRole);
}

grpc::ServerUnaryReactor* GrpcTutoringService::ListExercises(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::ListExercisesRequest, v1::ListExercisesResponse>(context, request, response,
                                      &TutoringService::ListExercises);
}

grpc::ServerUnaryReactor* GrpcTutoringService::GetStreak(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::GetStreakRequest, v1::Streak>(context, request, response,
                                      &TutoringService::GetStreak);
}

grpc::ServerUnaryReactor* GrpcTutoringService::BatchGetStreaks(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve<v1::BatchGetStreaksRequest, v1::BatchGetStreaksResponse>(context, request, response,
                                      &TutoringService::BatchGetStreaks);
}

}  // namespace tutoring::server
