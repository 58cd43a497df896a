#include "server/admin_http.h"

#include <civetweb.h>
#include <netdb.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iterator>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tutoring::server {
namespace {

void Reply(mg_connection* connection, int status, const char* content_type,
           const std::string& body) {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, status == 200 ? "OK" : "Service Unavailable",
            content_type, body.size());
  mg_write(connection, body.data(), body.size());
}

int ReplyHealth(mg_connection* connection, bool good) {
  Reply(connection, good ? 200 : 503, "text/plain; charset=utf-8",
        good ? "ok\n" : "not ready\n");
  return good ? 200 : 503;
}

// Opens and closes a connection to host:port, without waiting for more
// than the kernel's answer to a local connect.
void Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &found) !=
      0) {
    return;
  }
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               a->ai_protocol);
    if (fd < 0) continue;
    (void)connect(fd, a->ai_addr, a->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

AdminHttpServer::AdminHttpServer(
    std::vector<const prometheus::Collectable*> collectables,
    std::function<bool()> live, std::function<bool()> ready)
    : collectables_(std::move(collectables)),
      live_(std::move(live)),
      ready_(std::move(ready)) {}

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const AdminHttpOptions& options,
    std::vector<const prometheus::Collectable*> collectables,
    std::function<bool()> live, std::function<bool()> ready) {
  const std::string& address = options.listen_address;
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin listen address must be host:port with a port in 0..65535, "
        "got \"",
        address, "\""));
  }
  mg_init_library(0);
  std::unique_ptr<AdminHttpServer> server(new AdminHttpServer(
      std::move(collectables), std::move(live), std::move(ready)));
  const char* civet_options[] = {"listening_ports", address.c_str(),
                                 "num_threads",     "2",
                                 "request_timeout_ms", "5000",
                                 nullptr};
  mg_callbacks callbacks{};
  // civetweb logs to stderr by default: keep its failures for the status.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  server->context_ = mg_start(&callbacks, nullptr, civet_options);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve the admin port on ", address,
        " (address in use, not local, or not resolvable)"));
  }
  mg_set_request_handler(server->context_, "/metrics$", &HandleMetrics,
                         server.get());
  mg_set_request_handler(server->context_, "/healthz$", &HandleHealthz,
                         server.get());
  mg_set_request_handler(server->context_, "/readyz$", &HandleReadyz,
                         server.get());
  mg_server_port ports[4];
  std::memset(ports, 0, sizeof(ports));
  const int count = mg_get_server_ports(server->context_, 4, ports);
  server->port_ = count > 0 ? ports[0].port : port;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  server->wake_host_ = host;
  return server;
}

AdminHttpServer::~AdminHttpServer() {
  if (context_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    mg_stop(context_);
    stopped.store(true);
  });
  // mg_stop sets the stop flag, then waits for the listener thread, which
  // sees it only when its poll (2 s) ends: a connection ends it now.
  while (!stopped.load()) {
    absl::SleepFor(absl::Milliseconds(10));
    if (!stopped.load()) Knock(wake_host_, port_);
  }
  stopper.join();
}

int AdminHttpServer::HandleMetrics(mg_connection* connection, void* self) {
  auto* server = static_cast<AdminHttpServer*>(self);
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* collectable : server->collectables_) {
    std::vector<prometheus::MetricFamily> more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  const std::string body = prometheus::TextSerializer().Serialize(families);
  Reply(connection, 200, "text/plain; version=0.0.4; charset=utf-8", body);
  return 200;
}

int AdminHttpServer::HandleHealthz(mg_connection* connection, void* self) {
  return ReplyHealth(connection, static_cast<AdminHttpServer*>(self)->live_());
}

int AdminHttpServer::HandleReadyz(mg_connection* connection, void* self) {
  return ReplyHealth(connection,
                     static_cast<AdminHttpServer*>(self)->ready_());
}

}  // namespace tutoring::server
