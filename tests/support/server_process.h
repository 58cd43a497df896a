// tutoring-server, the built binary, as a child process of a test: started
// on 127.0.0.1 with a port the system picks, against a given database.
#ifndef TUTORING_TESTS_SUPPORT_SERVER_PROCESS_H_
#define TUTORING_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace tutoring::testing {

class ServerProcess {
 public:
  // Starts $TUTORING_SERVER_BIN --listen=127.0.0.1:0 with DATABASE_URL set
  // to `database_url` and `flags`, and waits (up to 30 s) until it reports
  // its port and, with `wait_until_serving`, health SERVING. Records a test
  // failure and returns nullptr if it does not.
  static std::unique_ptr<ServerProcess> Start(
      const std::string& database_url, const std::vector<std::string>& flags,
      bool wait_until_serving = true);

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Kills a server still running (SIGKILL), and records a test failure for
  // every line it wrote to stderr that is not one JSON object (unless it
  // was started with --log-format=text).
  ~ServerProcess();

  int port() const { return port_; }
  std::string target() const;
  Subprocess& process() { return *process_; }

  // SIGTERM, then waits up to `timeout` for the exit: what the process did,
  // or nullopt if it still runs.
  std::optional<ProcessResult> Stop(absl::Duration timeout);

 private:
  ServerProcess(std::unique_ptr<Subprocess> process, bool json_log)
      : process_(std::move(process)), json_log_(json_log) {}

  std::unique_ptr<Subprocess> process_;
  const bool json_log_;
  int port_ = 0;
};

// The port in tutoring-server's start line ("... (port N) ..."), or 0.
int ParseServerPort(const std::string& log);
// The admin HTTP port in its log ("... (admin port N) ..."), or 0.
int ParseAdminPort(const std::string& log);

// The lines of `log` that are not a JSON object each (parsed with
// protobuf's JSON parser, into google.protobuf.Struct).
std::vector<std::string> NonJsonLines(const std::string& log);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SUPPORT_SERVER_PROCESS_H_
