// gRPC server reflection, both versions clients ask for:
// grpc.reflection.v1.ServerReflection (newer grpcurl, buf curl
// --reflect-protocol grpc-v1) and grpc.reflection.v1alpha.ServerReflection
// (older clients, grpc-js tools). Answers from the process's generated
// descriptor pool.
//
// Both run on gRPC's callback API: a stream is a reactor that holds no thread
// while it waits for the client, so idle reflection streams cost memory, not
// threads. One implementation serves both versions (their messages have the
// same shape). Per stream:
//  - requests are answered in order, one response each;
//  - a file's dependencies are sent once per stream (clients build their
//    pool from what the stream delivered); a file asked for by name or
//    symbol is sent again even if an earlier answer carried it;
//  - errors are error_response messages on the stream, which stays open:
//    NOT_FOUND for an unknown file, symbol, extension or type;
//    INVALID_ARGUMENT for a request with no (or an unknown) message_request;
//  - valid_host echoes the request's host, original_request the request;
//  - the stream ends OK after the client half-closes and every answer is
//    written; a cancelled stream releases its state.
#ifndef TUTORING_SERVER_REFLECTION_H_
#define TUTORING_SERVER_REFLECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

namespace tutoring::server {

// Thread-safe: each stream keeps its own state; the service list is constant.
class ReflectionServices {
 public:
  // `services`: the full names list_services reports.
  explicit ReflectionServices(std::vector<std::string> services);
  ReflectionServices(const ReflectionServices&) = delete;
  ReflectionServices& operator=(const ReflectionServices&) = delete;
  ~ReflectionServices();

  // Registers v1 and v1alpha with `builder`. This object must outlive the
  // server built from it.
  void RegisterWith(grpc::ServerBuilder& builder);

 private:
  // Constant after construction.
  const std::vector<std::string> services_;
  const std::unique_ptr<grpc::Service> v1_;
  const std::unique_ptr<grpc::Service> v1alpha_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_REFLECTION_H_
