// tutoring-fault-proxy: tests/support/fault_proxy.h as a program, for
// scripts (bench/faults.sh).
//
//   tutoring-fault-proxy --target-port=N [--listen-port=M]
//
// Prints "port P" once listening, then reads one mode per line on stdin
// ("pass", "stall", "reset", "drop", "delay 200ms") and answers "mode ..."
// once it is in force. Exits at end of input.
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/support/fault_proxy.h"

int main(int argc, char** argv) {
  int target_port = 0;
  int listen_port = 0;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--target-port=")) {
      if (!absl::SimpleAtoi(arg, &target_port)) target_port = 0;
    } else if (absl::ConsumePrefix(&arg, "--listen-port=")) {
      if (!absl::SimpleAtoi(arg, &listen_port)) listen_port = -1;
    } else {
      target_port = 0;
      break;
    }
  }
  if (target_port <= 0 || target_port > 65535 || listen_port < 0 ||
      listen_port > 65535) {
    std::cerr << "usage: tutoring-fault-proxy --target-port=N "
                 "[--listen-port=M]\n";
    return 64;
  }
  auto proxy = tutoring::testing::FaultProxy::Start(target_port, listen_port);
  if (!proxy.ok()) {
    std::cerr << proxy.status() << "\n";
    return 1;
  }
  std::cout << "port " << (*proxy)->port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words.empty()) continue;
    auto mode = tutoring::testing::ParseFaultMode(words[0]);
    absl::Duration delay;
    if (!mode.ok() ||
        (*mode == tutoring::testing::FaultProxy::Mode::kDelay &&
         (words.size() != 2 || !absl::ParseDuration(words[1], &delay)))) {
      std::cout << "error: " << line << std::endl;
      continue;
    }
    (*proxy)->SetMode(*mode, delay);
    std::cout << "mode " << line << std::endl;
  }
  return 0;
}
