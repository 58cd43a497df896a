// The admin HTTP port, apart from the gRPC port (default 127.0.0.1:9464):
//   GET /metrics  Prometheus text format, from prometheus-cpp collectables
//   GET /healthz  200 while the process serves (liveness: independent of
//                 the database), else 503
//   GET /readyz   200 while the service takes calls (the database answers
//                 and no shutdown began; what the gRPC health service says
//                 for "tutoring.v1.TutoringService"), else 503
// for tools that cannot speak gRPC. Served by civetweb (Debian's
// libcivetweb), two threads.
#ifndef TUTORING_SERVER_ADMIN_HTTP_H_
#define TUTORING_SERVER_ADMIN_HTTP_H_

#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace tutoring::server {

struct AdminHttpOptions {
  // host:port; port 0 picks a free one (see port()).
  std::string listen_address = "127.0.0.1:9464";
};

class AdminHttpServer {
 public:
  // Starts serving. `collectables` (a registry, collectors) must outlive the
  // server; `live` and `ready`
  // are called from the server's threads. UNAVAILABLE when the address
  // cannot be bound, INVALID_ARGUMENT when it is not host:port.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const AdminHttpOptions& options,
      std::vector<const prometheus::Collectable*> collectables,
      std::function<bool()> live, std::function<bool()> ready);

  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;
  // Stops and joins the threads, promptly (civetweb's listener looks at
  // its stop flag only between polls of up to 2 s; connections to the
  // port wake it).
  ~AdminHttpServer();

  int port() const { return port_; }

 private:
  AdminHttpServer(std::vector<const prometheus::Collectable*> collectables,
                  std::function<bool()> live, std::function<bool()> ready);

  static int HandleMetrics(mg_connection* connection, void* self);
  static int HandleHealthz(mg_connection* connection, void* self);
  static int HandleReadyz(mg_connection* connection, void* self);

  // Constant after Start.
  const std::vector<const prometheus::Collectable*> collectables_;
  const std::function<bool()> live_;
  const std::function<bool()> ready_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  // Where a connection reaches the listener (the listen host, or loopback
  // for a wildcard one).
  std::string wake_host_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_ADMIN_HTTP_H_
