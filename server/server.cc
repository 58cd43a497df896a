#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"

namespace tutoring::server {

TutoringServer::TutoringServer(const ServerOptions& options,
                               std::unique_ptr<TutoringService> service,
                               std::unique_ptr<ReflectionV1Service> reflection)
    : options_(options),
      service_(std::move(service)),
      reflection_(std::move(reflection)) {}

absl::StatusOr<std::unique_ptr<TutoringServer>> TutoringServer::Start(
    const ServerOptions& options, db::Repository& repository,
    const PageTokenCodec& tokens, const TimeZoneNames& zones,
    const Clock& clock) {
  // Linking health.proto's generated code puts grpc.health.v1 in the
  // descriptor pool, so both reflection versions can describe it (gRPC's
  // built-in health service carries no descriptor of its own).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto server = std::unique_ptr<TutoringServer>(new TutoringServer(
      options,
      std::make_unique<TutoringService>(repository, tokens, zones, clock,
                                        options.service),
      std::make_unique<ReflectionV1Service>(std::vector<std::string>{
          "tutoring.v1.TutoringService", "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection"})));

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->reflection_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address));
  }
  server->health_ = std::make_unique<HealthReporter>(
      *server->server_->GetHealthCheckService(), repository, clock,
      options.health);
  return server;
}

TutoringServer::~TutoringServer() { Shutdown(); }

void TutoringServer::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  health_->Stop();
  if (options_.drain_delay > absl::ZeroDuration()) {
    spdlog::info("draining for {} before closing the listener",
                 absl::FormatDuration(options_.drain_delay));
    absl::SleepFor(options_.drain_delay);
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.shutdown_grace));
  server_->Wait();
}

}  // namespace tutoring::server
