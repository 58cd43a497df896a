// grpc.reflection.v1.ServerReflection, next to the v1alpha service that
// Debian's grpc++_reflection library provides, so clients that ask for v1
// first (newer grpcurl, buf curl --reflect-protocol grpc-v1) need no
// fallback. Answers from the process's generated descriptor pool, like the
// library's v1alpha service.
#ifndef TUTORING_SERVER_REFLECTION_V1_H_
#define TUTORING_SERVER_REFLECTION_V1_H_

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace tutoring::server {

// Thread-safe: each stream keeps its own state.
class ReflectionV1Service final
    : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: the full names list_services reports.
  explicit ReflectionV1Service(std::vector<std::string> services)
      : services_(std::move(services)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>*
          stream) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_REFLECTION_V1_H_
