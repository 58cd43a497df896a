#include "common/command_line.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace tutoring {
namespace {

// absl's --help shows only flags defined in a file named after the binary;
// our flags live in main.cc, so show all flags not defined by libraries.
bool IsOwnFlagFile(absl::string_view filename) {
  return !absl::StrContains(filename, "absl/") &&
         !absl::StrContains(filename, "/usr/");
}

}  // namespace

std::vector<std::string> ParseCommandLine(int argc, char** argv,
                                          absl::string_view usage,
                                          absl::Span<const FlagFromEnv> env) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = &IsOwnFlagFile;
  config.contains_helpshort_flags = &IsOwnFlagFile;
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);

  // Environment values are applied first so that absl's parse of the command
  // line overrides them: absl 20220623 keeps "was this flag on the command
  // line?" private, so asking afterwards is not possible.
  for (const FlagFromEnv& binding : env) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(binding.flag);
    if (flag == nullptr) {
      std::fprintf(stderr, "internal error: no flag --%s for %s\n",
                   binding.flag, binding.env);
      std::exit(2);
    }
    const char* value = std::getenv(binding.env);
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "invalid value for environment variable %s: %s\n",
                   binding.env, error.c_str());
      std::exit(2);
    }
  }

  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  std::vector<std::string> args;
  for (size_t i = 1; i < positional.size(); ++i) args.emplace_back(positional[i]);
  return args;
}

}  // namespace tutoring
