// A TCP proxy between a client (the server under test) and a backend
// (PostgreSQL) that a test drives to inject network faults: bytes pass,
// pass late, stop moving, connections are reset or refused. Real sockets
// on 127.0.0.1, one poll(2) thread.
//
// Modes (SetMode; applied by the proxy's thread before SetMode returns):
//   kPass   forward both ways, as they come (bytes held by an earlier
//           kDelay or kStall go first, in order).
//   kDelay  forward each chunk `delay` after it arrived, both ways.
//   kStall  accept connections and read what both sides send, forward
//           nothing (a stalled host or network); what was read is
//           forwarded when the mode changes back to kPass or kDelay.
//   kReset  reset (RST) every open connection, both sides, and every new
//           one at once.
//   kDrop   close every open connection (FIN, both sides) and the
//           listener: new connections are refused until another mode
//           opens the listener again, on the same port.
//
// Thread-safe.
#ifndef TUTORING_TESTS_SUPPORT_FAULT_PROXY_H_
#define TUTORING_TESTS_SUPPORT_FAULT_PROXY_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tutoring::testing {

class FaultProxy {
 public:
  enum class Mode { kPass, kDelay, kStall, kReset, kDrop };

  // Listens on 127.0.0.1 (`listen_port`, or a port the system picks when
  // 0) and forwards each accepted connection to 127.0.0.1:`target_port`.
  // Starts in kPass.
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(int target_port,
                                                           int listen_port = 0);

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  // Closes every connection and the listener, and joins the thread.
  ~FaultProxy();

  // The port clients connect to.
  int port() const { return port_; }

  // Switches modes; `delay` is used by kDelay only. Returns once the
  // proxy's thread has applied the mode (connections reset or closed).
  void SetMode(Mode mode, absl::Duration delay = absl::ZeroDuration())
      ABSL_LOCKS_EXCLUDED(mu_);
  Mode mode() const ABSL_LOCKS_EXCLUDED(mu_);

  // Connections open now (client side accepted, not yet closed).
  int open_connections() const { return open_connections_.load(); }
  // Connections accepted since start.
  int accepted() const { return accepted_.load(); }

 private:
  struct Pipe;
  struct Connection;

  FaultProxy(int listen_fd, int port, int target_port, int wake_fd);
  void Run();
  void Apply(Mode mode, absl::Duration delay);
  bool Listen();
  void Accept(absl::Time now);
  void Close(Connection& connection, bool reset);

  const int port_;
  const int target_port_;
  const int wake_fd_;  // eventfd: a mode change or the destructor

  mutable absl::Mutex mu_;
  Mode wanted_mode_ ABSL_GUARDED_BY(mu_) = Mode::kPass;
  absl::Duration wanted_delay_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Bumped by SetMode; the thread sets applied_ to it once applied.
  uint64_t requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;

  std::atomic<int> open_connections_{0};
  std::atomic<int> accepted_{0};

  // The thread's own state.
  int listen_fd_;
  Mode mode_ = Mode::kPass;
  absl::Duration delay_;
  std::vector<std::unique_ptr<Connection>> connections_;

  std::thread thread_;
};

// `url` (postgresql://user@host:port/db) with its port replaced by `port`:
// the same database reached through a proxy listening there.
std::string WithPort(absl::string_view url, int port);

// "pass", "delay", "stall", "reset" or "drop".
absl::StatusOr<FaultProxy::Mode> ParseFaultMode(absl::string_view text);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_FAULT_PROXY_H_
