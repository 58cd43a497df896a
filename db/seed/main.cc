// tutoring-seed: replaces the contents of users, exercises and user_exercises
// with the deterministic dataset of db/seed/dataset.h.
// Exit status: 0 on success, 1 when seeding fails, 64 for a usage error.
// Errors are one line on stderr: "tutoring-seed: <message>".
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/command_line.h"
#include "db/seed/seeder.h"

ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URL (postgresql://user@host:port/db) or key=value DSN; "
          "environment DATABASE_URL when the flag is absent");
ABSL_FLAG(int64_t, users, tutoring::db::SeedOptions().users,
          "number of users (ids 1..N), 1 to 100000000");
ABSL_FLAG(uint64_t, seed, tutoring::db::SeedOptions().seed,
          "selects the dataset: the same users, seed, exercises and end date "
          "give byte-identical tables");
ABSL_FLAG(int64_t, exercises, tutoring::db::SeedOptions().exercises,
          "number of exercises (ids 1..N), 1 to 10000000");
ABSL_FLAG(std::string, end_date,
          absl::FormatCivilTime(tutoring::db::kDefaultSeedEndDate),
          "last day (UTC) of the 180-day activity window, YYYY-MM-DD in years "
          "1980 to 9998, or \"today\" for the current UTC date (then the data "
          "depends on the day it is seeded)");
ABSL_FLAG(bool, vacuum, tutoring::db::SeedOptions().vacuum,
          "VACUUM the tables after loading so that index-only scans work at "
          "once; --novacuum saves that time");
ABSL_FLAG(absl::Duration, lock_timeout,
          tutoring::db::SeedOptions().lock_timeout,
          "how long to wait for other sessions' locks on the tables, at least "
          "1ms, e.g. 30s");

namespace {

constexpr char kUsage[] =
    "Replaces the contents of users, exercises and user_exercises with a\n"
    "deterministic, realistic dataset (the database must be migrated).\n"
    "\n"
    "Usage: tutoring-seed [--users N] [--seed S] [--exercises N]\n"
    "                     [--end-date YYYY-MM-DD|today] [--database-url URL]\n"
    "\n"
    "Prints one line with the row counts and the time taken.\n"
    "Exit status: 0 ok, 1 failure, 64 usage error.";

constexpr tutoring::FlagFromEnv kEnvFlags[] = {
    {"database_url", "DATABASE_URL"},
};

int Fail(int exit_code, absl::string_view message) {
  std::fprintf(stderr, "tutoring-seed: %s\n",
               tutoring::OneLine(message).c_str());
  return exit_code;
}

// INVALID_ARGUMENT naming --`flag` unless minimum <= value <= maximum.
absl::Status RequireInRange(absl::string_view flag, int64_t value,
                            int64_t minimum, int64_t maximum) {
  if (value >= minimum && value <= maximum) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must be in [", minimum, ", ", maximum, "], got ", value));
}

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1f", absl::ToDoubleSeconds(d));
}

int Run(const std::vector<std::string>& args) {
  if (!args.empty()) {
    tutoring::ExitUsageError(
        absl::StrCat("unexpected arguments: ", absl::StrJoin(args, " ")));
  }
  const tutoring::RealClock clock;
  tutoring::db::SeedOptions options;
  options.users = absl::GetFlag(FLAGS_users);
  tutoring::ExitIfUsageError(
      RequireInRange("users", options.users, 1, tutoring::db::kSeedMaxUsers));
  options.seed = absl::GetFlag(FLAGS_seed);
  options.exercises = absl::GetFlag(FLAGS_exercises);
  tutoring::ExitIfUsageError(RequireInRange("exercises", options.exercises, 1,
                                            tutoring::db::kSeedMaxExercises));
  options.vacuum = absl::GetFlag(FLAGS_vacuum);
  options.lock_timeout = absl::GetFlag(FLAGS_lock_timeout);
  tutoring::ExitIfUsageError(
      tutoring::RequirePositive("lock-timeout", options.lock_timeout));
  if (options.lock_timeout < absl::Milliseconds(1)) {
    tutoring::ExitUsageError(
        absl::StrCat("--lock-timeout must be at least 1ms, got ",
                     absl::FormatDuration(options.lock_timeout)));
  }
  const std::string end_date = absl::GetFlag(FLAGS_end_date);
  if (end_date == "today") {
    options.end_date = absl::ToCivilDay(clock.Now(), absl::UTCTimeZone());
  } else if (!absl::ParseCivilTime(end_date, &options.end_date)) {
    tutoring::ExitUsageError(absl::StrCat(
        "--end-date must be YYYY-MM-DD or today, got \"", end_date, "\""));
  }
  if (options.end_date.year() < tutoring::db::kSeedMinEndYear ||
      options.end_date.year() > tutoring::db::kSeedMaxEndYear) {
    tutoring::ExitUsageError(absl::StrCat(
        "--end-date must be in years ", tutoring::db::kSeedMinEndYear, " to ",
        tutoring::db::kSeedMaxEndYear, ", got ",
        absl::FormatCivilTime(options.end_date)));
  }
  const std::string database_url = absl::GetFlag(FLAGS_database_url);
  if (database_url.empty()) {
    tutoring::ExitUsageError(
        "no database: pass --database-url or set DATABASE_URL");
  }

  const absl::StatusOr<tutoring::db::SeedStats> stats =
      tutoring::db::SeedDatabaseWithStats(database_url, options, clock);
  if (!stats.ok()) {
    return Fail(stats.status().code() == absl::StatusCode::kInvalidArgument
                    ? tutoring::kExitUsage
                    : 1,
                stats.status().message());
  }
  std::printf(
      "seeded %lld users, %lld exercises, %lld user_exercises (seed %llu, "
      "end date %s) in %s s (load %s s, indexes %s s, analyze and foreign "
      "keys %s s, vacuum %s s)\n",
      static_cast<long long>(stats->users),
      static_cast<long long>(stats->exercises),
      static_cast<long long>(stats->user_exercises),
      static_cast<unsigned long long>(options.seed),
      absl::FormatCivilTime(options.end_date).c_str(),
      Seconds(stats->total_time).c_str(), Seconds(stats->load_time).c_str(),
      Seconds(stats->index_time).c_str(), Seconds(stats->keys_time).c_str(),
      Seconds(stats->vacuum_time).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args =
      tutoring::ParseCommandLine(argc, argv, kUsage, kEnvFlags).positional;
  // The library returns Status for everything it expects; this catches the
  // rest (e.g. std::bad_alloc) so that no failure ends in an abort.
  try {
    return Run(args);
  } catch (const std::exception& e) {
    return Fail(1, absl::StrCat("unexpected error: ", e.what()));
  } catch (...) {
    return Fail(1, "unexpected error");
  }
}
