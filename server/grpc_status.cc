#include "server/grpc_status.h"

#include <spdlog/spdlog.h>

#include <string>

namespace tutoring::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both follow
  // google.rpc.Code, value for value.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status FinishedCallStatus(absl::string_view method,
                                const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kUnavailable) {
    spdlog::error("{} failed: {}: {}", std::string(method),
                  absl::StatusCodeToString(status.code()),
                  std::string(status.message()));
  }
  return ToGrpcStatus(status);
}

}  // namespace tutoring::server
