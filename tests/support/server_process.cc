#include "tests/support/server_process.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

namespace {

int ParsePortAfter(const std::string& log, const std::string& marker) {
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t start = at + marker.size();
  const size_t end = log.find(')', start);
  int port = 0;
  if (end == std::string::npos ||
      !absl::SimpleAtoi(log.substr(start, end - start), &port)) {
    return 0;
  }
  return port;
}

}  // namespace

int ParseServerPort(const std::string& log) {
  return ParsePortAfter(log, "(port ");
}

int ParseAdminPort(const std::string& log) {
  return ParsePortAfter(log, "(admin port ");
}

std::vector<std::string> NonJsonLines(const std::string& log) {
  std::vector<std::string> bad;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct parsed;
    if (line.front() != '{' ||
        !google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(line.data(), line.size()), &parsed)
             .ok()) {
      bad.emplace_back(line);
    }
  }
  return bad;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(
    const std::string& database_url, const std::vector<std::string>& flags,
    bool wait_until_serving) {
  std::vector<std::string> argv = {BinaryPath("TUTORING_SERVER_BIN"),
                                   "--listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const bool json_log =
      std::find(flags.begin(), flags.end(), "--log-format=text") == flags.end();
  std::vector<std::string> env = {"DATABASE_URL=" +
                                  ServerDatabaseUrl(database_url)};
  if (ThroughTransactionPooler()) env.push_back("DATABASE_POOLER=transaction");
  auto server = std::unique_ptr<ServerProcess>(new ServerProcess(
      std::make_unique<Subprocess>(argv, env), json_log));
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
  if (json_log_) {
    for (const std::string& line : NonJsonLines(process_->Err())) {
      ADD_FAILURE() << "tutoring-server wrote a line that is not JSON: "
                    << line;
    }
  }
}

std::string ServerProcess::target() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::optional<ProcessResult> ServerProcess::Stop(absl::Duration timeout) {
  process_->Signal(SIGTERM);
  return process_->WaitFor(timeout);
}

}  // namespace tutoring::testing
