#include "server/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tutoring::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both follow
  // google.rpc.Code, value for value.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

bool HidesDetails(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return true;
    default:
      return false;
  }
}

std::string CallerMessage(grpc::StatusCode code, absl::string_view request_id) {
  absl::string_view what;
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      // Also the answer to calls refused while the server stops.
      what =
          "the service cannot answer right now (its database is unreachable, "
          "or this server is shutting down); the call is safe to retry";
      break;
    case grpc::StatusCode::ABORTED:
      what = "the database gave up on the query; the call is safe to retry";
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      what = "the service's database is not in the state it needs";
      break;
    default:
      what = "the service failed to answer (internal error)";
      break;
  }
  return absl::StrCat(what, " (request id ", request_id, ")");
}

}  // namespace tutoring::server
