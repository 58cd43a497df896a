#include "common/command_line.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace tutoring {
namespace {

// absl's --help shows only flags defined in a file named after the binary;
// our flags live in main.cc, so show all flags not defined by libraries.
bool IsOwnFlagFile(absl::string_view filename) {
  return !absl::StrContains(filename, "absl/") &&
         !absl::StrContains(filename, "/usr/");
}

// Names of the flags given in argv ("--name", "--name=v", "-name", "--noname"
// for booleans). absl keeps this to itself, so read argv the same way.
absl::flat_hash_set<std::string> FlagsOnCommandLine(int argc, char** argv) {
  absl::flat_hash_set<std::string> names;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    arg = arg.substr(0, arg.find('='));
    names.insert(std::string(arg));
    if (absl::ConsumePrefix(&arg, "no")) names.insert(std::string(arg));
  }
  return names;
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

  // absl names flags with underscores; accept "--database-url" too.
  std::vector<std::string> normalized(argv, argv + argc);
  for (size_t i = 1; i < normalized.size(); ++i) {
    std::string& arg = normalized[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t name_end = std::min(arg.find('='), arg.size());
    for (size_t j = arg[1] == '-' ? 2 : 1; j < name_end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  std::vector<char*> normalized_argv;
  for (std::string& arg : normalized) normalized_argv.push_back(arg.data());
  normalized_argv.push_back(nullptr);

  const absl::flat_hash_set<std::string> given =
      FlagsOnCommandLine(argc, normalized_argv.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(argc, normalized_argv.data());

  for (const FlagFromEnv& binding : env) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(binding.flag);
    if (flag == nullptr) {
      std::fprintf(stderr, "internal error: no flag --%s for %s\n",
                   binding.flag, binding.env);
      std::exit(2);
    }
    if (given.contains(binding.flag)) continue;
    const char* value = std::getenv(binding.env);
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "invalid value for environment variable %s: %s\n",
                   binding.env, error.c_str());
      std::exit(2);
    }
  }
  std::vector<std::string> args;
  for (size_t i = 1; i < positional.size(); ++i) args.emplace_back(positional[i]);
  return args;
}

}  // namespace tutoring
