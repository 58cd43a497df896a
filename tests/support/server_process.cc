#include "tests/support/server_process.h"

#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

int ParseServerPort(const std::string& log) {
  const size_t at = log.find("(port ");
  if (at == std::string::npos) return 0;
  const size_t end = log.find(')', at);
  int port = 0;
  if (end == std::string::npos ||
      !absl::SimpleAtoi(log.substr(at + 6, end - at - 6), &port)) {
    return 0;
  }
  return port;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(
    const std::string& database_url, const std::vector<std::string>& flags,
    bool wait_until_serving) {
  std::vector<std::string> argv = {BinaryPath("TUTORING_SERVER_BIN"),
                                   "--listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::vector<std::string> env = {"DATABASE_URL=" +
                                  ServerDatabaseUrl(database_url)};
  if (ThroughTransactionPooler()) env.push_back("DATABASE_POOLER=transaction");
  auto server = std::unique_ptr<ServerProcess>(
      new ServerProcess(std::make_unique<Subprocess>(argv, env)));
  Subprocess& process = *server->process_;
  const absl::Duration kStartTimeout = absl::Seconds(30);
  if (!process.WaitForErr("(port ", kStartTimeout) ||
      (wait_until_serving &&
       !process.WaitForErr("health SERVING", kStartTimeout))) {
    ADD_FAILURE() << "tutoring-server did not start:\n" << process.Err();
    return nullptr;
  }
  server->port_ = ParseServerPort(process.Err());
  if (server->port_ == 0) {
    ADD_FAILURE() << "no port in tutoring-server's log:\n" << process.Err();
    return nullptr;
  }
  return server;
}

ServerProcess::~ServerProcess() {
  process_->Signal(SIGKILL);
  process_->Wait();
}

std::string ServerProcess::target() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::optional<ProcessResult> ServerProcess::Stop(absl::Duration timeout) {
  process_->Signal(SIGTERM);
  return process_->WaitFor(timeout);
}

}  // namespace tutoring::testing
