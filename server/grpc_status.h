// The single mapping from absl::Status to grpc::Status, and what a caller is
// told when the failure is the server's or the database's.
#ifndef TUTORING_SERVER_GRPC_STATUS_H_
#define TUTORING_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {

// Same canonical code (absl and gRPC share the numbering) and message. The
// message may hold the database's text: the call telemetry
// (server/call_telemetry.h) logs it with the call's request id and replaces
// it for the caller (CallerMessage).
grpc::Status ToGrpcStatus(const absl::Status& status);

// True for the codes that mean the server or the database failed rather
// than the caller (INTERNAL, UNAVAILABLE, UNKNOWN, DATA_LOSS, ABORTED,
// FAILED_PRECONDITION): their messages can name hosts, ports and SQL, so
// callers get CallerMessage instead.
bool HidesDetails(grpc::StatusCode code);

// What failed, in the caller's words, with the request id to quote when
// reporting it, e.g. "the service's database is unavailable; the call is
// safe to retry (request id 3f2a...)".
std::string CallerMessage(grpc::StatusCode code, absl::string_view request_id);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_STATUS_H_
