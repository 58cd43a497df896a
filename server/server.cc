#include "server/server.h"

#include <grpc/grpc.h>
#include <grpcpp/health_check_service_interface.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"

namespace tutoring::server {
namespace {

// How long after the listener closes the calls held during the drain are
// refused: time for clients to read the GOAWAY, so that their retries go to
// a new connection instead of arriving on this one, where gRPC would
// cancel them.
constexpr absl::Duration kGoawayAllowance = absl::Milliseconds(200);
// Calls held during a drain wait at most this long for the calls in flight
// before the listener closes anyway.
constexpr absl::Duration kMaxHold = absl::Seconds(1);
// No call arriving for this long (with none in flight) means clients have
// nothing on its way.
constexpr absl::Duration kQuietBeforeClose = absl::Milliseconds(50);
// Held calls are refused at least this long before the grace period ends
// (when gRPC cancels every call still open).
constexpr absl::Duration kRefuseMargin = absl::Milliseconds(50);

// host:port or [v6]:port with a port in 0..65535. gRPC itself would take
// "127.0.0.1:99999" as some other port, and a missing port as a default.
absl::Status ValidateListenAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535 || address.substr(colon + 1).front() == '+') {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address must be host:port with a port in 0..65535, got \"",
        address, "\""));
  }
  return absl::OkStatus();
}

// Binds (and releases) the address the way the listener will, to report why
// it cannot be used in the operator's words ("Address already in use")
// before gRPC tries; gRPC's own failure is a multi-line log and a null
// server. Port 0 always binds.
absl::Status CheckBindable(absl::string_view address) {
  const size_t colon = address.rfind(':');
  std::string host(address.substr(0, colon));
  const std::string port(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                    port.c_str(), &hints, &found);
      error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", gai_strerror(error)));
  }
  std::string reason = "no address";
  bool bound = false;
  for (addrinfo* a = found; a != nullptr && !bound; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
      bound = true;
    } else {
      reason = std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (bound) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot listen on ", address, ": ", reason));
}

}  // namespace

TutoringServer::TutoringServer(
    const ServerOptions& options, const Clock& clock,
    std::unique_ptr<CallAdmission> admission,
    std::unique_ptr<TutoringService> service,
    std::unique_ptr<GrpcTutoringService> grpc_service,
    std::unique_ptr<GrpcAsyncTutoringService> async_service,
    std::unique_ptr<ReflectionServices> reflection,
    std::unique_ptr<grpc::Server> server, int port,
    std::unique_ptr<HealthReporter> health)
    : options_(options),
      clock_(clock),
      admission_(std::move(admission)),
      service_(std::move(service)),
      grpc_service_(std::move(grpc_service)),
      async_service_(std::move(async_service)),
      reflection_(std::move(reflection)),
      server_(std::move(server)),
      port_(port),
      health_(std::move(health)) {}

absl::StatusOr<std::unique_ptr<TutoringServer>> TutoringServer::Start(
    const ServerOptions& options, db::Repository& repository,
    const PageTokenCodec& tokens, const TimeZoneNames& zones,
    const Clock& clock) {
  if (absl::Status valid = ValidateListenAddress(options.listen_address);
      !valid.ok()) {
    return valid;
  }
  if (absl::Status valid = ValidateConnectionOptions(options.connection);
      !valid.ok()) {
    return valid;
  }
  if (absl::Status valid = ValidateAdmissionOptions(options.admission);
      !valid.ok()) {
    return valid;
  }
  absl::StatusOr<ServerSecurity> security =
      MakeServerSecurity(options.security);
  if (!security.ok()) return security.status();
  if (absl::Status bindable = CheckBindable(options.listen_address);
      !bindable.ok()) {
    return bindable;
  }
  // Linking health.proto's generated code puts grpc.health.v1 in the
  // descriptor pool, so both reflection versions can describe it (gRPC's
  // built-in health service carries no descriptor of its own).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);

  auto admission = std::make_unique<CallAdmission>(options.admission, clock);
  auto service =
      std::make_unique<TutoringService>(repository, tokens, zones, clock);
  std::unique_ptr<GrpcTutoringService> grpc_service;
  std::unique_ptr<GrpcAsyncTutoringService> async_service;
  if (options.grpc_api == GrpcApi::kCallback) {
    grpc_service = std::make_unique<GrpcTutoringService>(
        *service, *admission, clock, options.service);
  } else {
    async_service = std::make_unique<GrpcAsyncTutoringService>(
        *service, *admission, clock, options.service);
  }
  std::unique_ptr<ReflectionServices> reflection;
  if (options.reflection) {
    reflection = std::make_unique<ReflectionServices>(std::vector<std::string>{
        "tutoring.v1.TutoringService", "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection"});
  }

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, security->credentials,
                           &port);
  ApplyConnectionOptions(options.connection, builder);
  // Two servers on one port would split the traffic (and page tokens signed
  // with per-process keys would fail on the other): refuse to start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options.telemetry != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(options.telemetry->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  if (grpc_service != nullptr) {
    builder.RegisterService(grpc_service.get());
  } else {
    const int threads = options.grpc_threads > 0
                            ? options.grpc_threads
                            : std::max(1u, std::thread::hardware_concurrency());
    async_service->Register(builder, threads);
  }
  if (reflection != nullptr) reflection->RegisterWith(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use, not local, or not resolvable)"));
  }
  if (async_service != nullptr) async_service->Start();
  auto health = std::make_unique<HealthReporter>(
      *server->GetHealthCheckService(), repository, clock, options.health);
  return std::unique_ptr<TutoringServer>(new TutoringServer(
      options, clock, std::move(admission), std::move(service), std::move(grpc_service),
      std::move(async_service), std::move(reflection), std::move(server), port,
      std::move(health)));
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
    SleepUntil(clock_, clock_.Now() + options_.drain_delay);
  }
  const absl::Time deadline = clock_.Now() + options_.shutdown_grace;
  admission_->StartHolding();
  // Once the calls in flight are done and no new one has come for a moment,
  // every slot of a closed-loop client is held, so nothing is on its way
  // when the listener closes; a held call waits at most kMaxHold (plus
  // kGoawayAllowance) for its refusal.
  admission_->AwaitQuiet(kQuietBeforeClose,
                         std::min(deadline, clock_.Now() + kMaxHold));
  // Held calls are answered kGoawayAllowance after the listener closes, and
  // in any case before gRPC cancels what is left at the deadline.
  std::thread refuse_held([this, deadline] {
    const absl::Time now = clock_.Now();
    SleepUntil(clock_, std::min(now + kGoawayAllowance,
                                std::max(now, deadline - kRefuseMargin)));
    const int held = admission_->held();
    admission_->RefuseHeld();
    if (held > 0) {
      spdlog::info("refused {} calls held during the drain (UNAVAILABLE)",
                   held);
    }
  });
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  refuse_held.join();
  if (async_service_ != nullptr) async_service_->Stop();
}

}  // namespace tutoring::server
