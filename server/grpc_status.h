// The single mapping from absl::Status to grpc::Status.
#ifndef TUTORING_SERVER_GRPC_STATUS_H_
#define TUTORING_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace tutoring::server {

// Same canonical code (absl and gRPC share the numbering) and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_STATUS_H_
