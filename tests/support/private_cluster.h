// A PostgreSQL cluster of a test's own, driven through scripts/pg (instance
// "<prefix>-<pid>" on a free port), for tests that stop, start or break the
// database under a running server. Removed (data folder and all) when
// destroyed.
#ifndef TUTORING_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
#define TUTORING_TESTS_SUPPORT_PRIVATE_CLUSTER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tutoring::testing {

// A free TCP port on 127.0.0.1 (bound, read back, released).
int FreePort();

class PrivateCluster {
 public:
  explicit PrivateCluster(absl::string_view prefix);
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;
  ~PrivateCluster();

  // Creates (first time) and starts the cluster; its DSN, or nullopt (and a
  // test failure) if scripts/pg fails.
  std::optional<std::string> Start();
  // Start() for a primary that streaming replicas can copy: wal_level
  // replica, WAL senders, pg_stat_statements loaded and created in database
  // postgres.
  std::optional<std::string> StartPrimary();
  // Creates (first time: pg_basebackup -R from `primary`) and starts this
  // cluster as a streaming replica of `primary`; later, Start() restarts it.
  std::optional<std::string> StartReplicaOf(const PrivateCluster& primary);
  // Runs PgBouncer (transaction pooling) on this instance's port in front of
  // the cluster on `port` instead of a cluster of its own; Stop() and the
  // destructor stop it. Its DSN (database postgres).
  std::optional<std::string> StartPgBouncerTo(int port);
  // Fast shutdown; false (and a test failure) if scripts/pg fails.
  bool Stop();

  int port() const { return port_; }

  // Signals sent straight to the cluster's processes (the postmaster named
  // in its postmaster.pid and every child of it), for fault tests: the
  // postmaster is stopped first, and seen stopped, so that it forks no child
  // meanwhile. False (and a test failure) when the cluster is not running.
  //   Kill()   SIGKILL to all of them: a crash, no shutdown, no goodbye to
  //            clients; returns once all have exited. Start() brings the
  //            cluster back (crash recovery).
  //   Pause()  SIGSTOP to all of them: a stalled host. Resume() continues.
  bool Kill();
  bool Pause();
  bool Resume();

 private:
  // Runs `scripts/pg --instance <name> --port <port> <command>`; its stdout,
  // or nullopt.
  std::optional<std::string> Run(std::vector<std::string> command);
  // The DSN printed last by a scripts/pg command.
  std::optional<std::string> Dsn(std::vector<std::string> command);
  // The postmaster's process id from its pid file, or 0.
  int PostmasterPid() const;
  // SIGSTOP to the postmaster (unless `signal` is SIGCONT), then `signal`
  // to its children and to the postmaster itself.
  bool SignalAll(int signal);

  const std::string instance_;
  const int port_;
};

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
