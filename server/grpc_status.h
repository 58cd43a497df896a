// The single mapping from absl::Status to grpc::Status, and the one place
// that decides which finished calls are logged.
#ifndef TUTORING_SERVER_GRPC_STATUS_H_
#define TUTORING_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {

// Same canonical code (absl and gRPC share the numbering) and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// ToGrpcStatus for the answer to a call of `method`, logging the failures
// that are the server's or the database's (INTERNAL, UNAVAILABLE) rather
// than the caller's.
grpc::Status FinishedCallStatus(absl::string_view method,
                                const absl::Status& status);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_STATUS_H_
