#include "common/command_line.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tutoring {
namespace {

// The name usage errors start with; set by ParseCommandLine.
std::string& ProgramName() {
  static std::string* name = new std::string("program");
  return *name;
}

// absl keeps its own flags (--flagfile, --fromenv, ...) next to ours; only
// the program's flags are listed in --help and accepted on the command line.
bool IsOwnFlag(const absl::CommandLineFlag& flag) {
  return !absl::StrContains(flag.Filename(), "absl/");
}

std::string Dashed(absl::string_view absl_name) {
  return absl::StrReplaceAll(absl_name, {{"_", "-"}});
}

[[noreturn]] void PrintHelpAndExit(absl::string_view usage) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsOwnFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::printf("%.*s\n\nFlags:\n", static_cast<int>(usage.size()), usage.data());
  for (const absl::CommandLineFlag* flag : flags) {
    std::printf("  --%s (default: \"%s\")\n      %s\n",
                Dashed(flag->Name()).c_str(), flag->DefaultValue().c_str(),
                flag->Help().c_str());
  }
  std::fflush(stdout);
  std::exit(0);
}

// "-5" and "-0.5" are values, not flags.
bool IsNumber(absl::string_view arg) {
  int64_t i = 0;
  double d = 0;
  return absl::SimpleAtoi(arg, &i) || absl::SimpleAtod(arg, &d);
}

absl::CommandLineFlag* FindOwnFlag(const std::string& name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && IsOwnFlag(*flag) ? flag : nullptr;
}

}  // namespace

CommandLine ParseCommandLine(int argc, char** argv, absl::string_view usage,
                             absl::Span<const FlagFromEnv> env) {
  if (argc > 0) {
    const absl::string_view path = argv[0];
    ProgramName() = std::string(path.substr(path.rfind('/') + 1));
  }
  CommandLine result;
  // Command-line values are set after the environment's, so they win.
  std::vector<std::pair<absl::CommandLineFlag*, std::string>> values;
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-' || IsNumber(arg)) {
      result.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    const std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name =
        absl::StrReplaceAll(body.substr(0, equals), {{"-", "_"}});
    if (name == "help" || name == "h" || name == "helpfull") {
      PrintHelpAndExit(usage);
    }
    absl::CommandLineFlag* flag = FindOwnFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      flag = FindOwnFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) {
      ExitUsageError(absl::StrCat("unknown flag --", Dashed(name)));
    }
    const std::string dashed = Dashed(flag->Name());
    std::string value;
    if (negated) {
      if (equals != std::string::npos) {
        ExitUsageError(absl::StrCat("--no", dashed, " takes no value"));
      }
      value = "false";
    } else if (equals != std::string::npos) {
      value = body.substr(equals + 1);
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      ExitUsageError(absl::StrCat("--", dashed, " needs a value"));
    }
    result.given.insert(std::string(flag->Name()));
    // A list flag given again adds to its values (comma-separated, as absl
    // parses lists) rather than replacing them.
    if (flag->IsOfType<std::vector<std::string>>()) {
      auto earlier = std::find_if(values.begin(), values.end(),
                                  [&](const auto& v) { return v.first == flag; });
      if (earlier != values.end()) {
        absl::StrAppend(&earlier->second, ",", value);
        continue;
      }
    }
    values.emplace_back(flag, std::move(value));
  }

  for (const FlagFromEnv& binding : env) {
    absl::CommandLineFlag* flag = FindOwnFlag(binding.flag);
    if (flag == nullptr) {
      // A programming error in the binding table, not a user's.
      std::fprintf(stderr, "%s: internal error: no flag --%s for %s\n",
                   ProgramName().c_str(), binding.flag, binding.env);
      std::abort();
    }
    const char* value = std::getenv(binding.env);
    if (value == nullptr || result.given.count(std::string(flag->Name())) > 0)
      continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      ExitUsageError(absl::StrCat("invalid value for environment variable ",
                                  binding.env, ": ", error));
    }
  }
  for (const auto& [flag, value] : values) {
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      ExitUsageError(absl::StrCat("invalid value for --", Dashed(flag->Name()),
                                  ": ", error));
    }
  }
  return result;
}

void ExitUsageError(absl::string_view message) {
  std::fprintf(stderr, "%s: %s (see --help)\n", ProgramName().c_str(),
               OneLine(message).c_str());
  std::fflush(stderr);
  std::exit(kExitUsage);
}

absl::Status RequirePositive(absl::string_view flag, absl::Duration value) {
  if (value > absl::ZeroDuration() && value != absl::InfiniteDuration()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be a positive duration, got ",
                   absl::FormatDuration(value)));
}

absl::Status RequireNonNegative(absl::string_view flag, absl::Duration value) {
  if (value >= absl::ZeroDuration() && value != absl::InfiniteDuration()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be zero or a positive duration, got ",
                   absl::FormatDuration(value)));
}

absl::Status RequireAtLeast(absl::string_view flag, int64_t value,
                            int64_t minimum) {
  if (value >= minimum) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be >= ", minimum, ", got ", value));
}

void ExitIfUsageError(const absl::Status& status) {
  if (!status.ok()) ExitUsageError(status.message());
}

std::string OneLine(absl::string_view message) {
  return absl::StrJoin(absl::StrSplit(message, absl::ByAnyChar("\r\n\t"),
                                      absl::SkipWhitespace()),
                       " ");
}

}  // namespace tutoring
