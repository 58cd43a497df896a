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

 private:
  // Runs `scripts/pg --instance <name> --port <port> <command>`; its stdout,
  // or nullopt.
  std::optional<std::string> Run(std::vector<std::string> command);
  // The DSN printed last by a scripts/pg command.
  std::optional<std::string> Dsn(std::vector<std::string> command);

  const std::string instance_;
  const int port_;
};

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
