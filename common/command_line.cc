#include "common/command_line.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tutoring {
namespace {

// absl's --help shows only flags defined in a file named after the binary;
// our flags live in main.cc, so show every flag but absl's own.
bool IsOwnFlagFile(absl::string_view filename) {
  return !absl::StrContains(filename, "absl/");
}

// absl flag names are C identifiers (`--database_url`); the documented
// spelling is `--database-url`. Rewrites the name part of every flag argument
// before a bare "--" to the absl spelling. Values passed as separate
// arguments keep their dashes: a name must start with a letter, so "-1" is
// left alone.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t name_begin = arg[1] == '-' ? 2 : 1;
    const size_t name_end = std::min(arg.find('='), arg.size());
    if (name_begin >= name_end || !absl::ascii_isalpha(arg[name_begin])) {
      continue;
    }
    std::replace(arg.begin() + name_begin, arg.begin() + name_end, '-', '_');
  }
  return args;
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") return false;
    if (args[i] == "--help" || args[i] == "-help" || args[i] == "-h") {
      return true;
    }
  }
  return false;
}

// absl's own --help exits with status 1 and prints absl names; ours exits 0
// and lists the program's flags as they are documented (dashed).
[[noreturn]] void PrintHelpAndExit(absl::string_view usage) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOwnFlagFile(flag->Filename())) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::printf("%.*s\n\nFlags:\n", static_cast<int>(usage.size()), usage.data());
  for (const absl::CommandLineFlag* flag : flags) {
    const std::string name = absl::StrReplaceAll(flag->Name(), {{"_", "-"}});
    std::printf("  --%s (default: \"%s\")\n      %s\n", name.c_str(),
                flag->DefaultValue().c_str(), flag->Help().c_str());
  }
  std::fflush(stdout);
  std::exit(0);
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

  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  if (WantsHelp(args)) PrintHelpAndExit(usage);

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

  std::vector<char*> normalized_argv;
  for (std::string& arg : args) normalized_argv.push_back(arg.data());
  const std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(normalized_argv.size()), normalized_argv.data());

  std::vector<std::string> result;
  for (size_t i = 1; i < positional.size(); ++i) {
    result.emplace_back(positional[i]);
  }
  return result;
}

std::string OneLine(absl::string_view message) {
  return absl::StrJoin(absl::StrSplit(message, absl::ByAnyChar("\r\n\t"),
                                      absl::SkipWhitespace()),
                       " ");
}

}  // namespace tutoring
