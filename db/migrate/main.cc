// tutoring-migrate: applies, reverts and checks the schema migrations.
// Exit status: 0 on success, 1 when the operation fails, 64 for a usage error.
// Errors are one line on stderr: "tutoring-migrate: <message>".
#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/command_line.h"
#include "db/migrate/migrator.h"

ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URL (postgresql://user@host:port/db) or key=value DSN; "
          "environment DATABASE_URL when the flag is absent");
ABSL_FLAG(std::string, migrations_dir, "migrations",
          "folder of NNNN_name.up.sql / NNNN_name.down.sql files; environment "
          "MIGRATIONS_DIR when the flag is absent");
ABSL_FLAG(std::optional<int>, to, std::nullopt,
          "up: apply up to and including this version; down: revert every "
          "version above it (0 reverts everything); at most the last version");
ABSL_FLAG(std::optional<int>, steps, std::nullopt,
          "down: revert this many of the most recent migrations, >= 1 "
          "(default 1)");
ABSL_FLAG(absl::Duration, lock_timeout,
          tutoring::db::MigratorOptions().lock_timeout,
          "up/down: how long to wait for another runner's migration lock, "
          "positive, e.g. 30s or 5m");
ABSL_FLAG(std::string, database_pooler, "auto",
          "up/down: what sits between this runner and PostgreSQL: auto "
          "(detect a pooler or proxy and refuse), none or session (trust "
          "the path), transaction (refuse: the migration lock needs a "
          "session); environment DATABASE_POOLER when the flag is absent");

ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "verify: retry every 5s for up to this long until the database "
          "matches (e.g. while the migration Job runs), printing each new "
          "reason once; 0 checks once");

namespace {

// Pause between two checks of verify --wait.
constexpr absl::Duration kVerifyRetryInterval = absl::Seconds(5);

constexpr char kUsage[] =
    "Applies, reverts and checks the database schema migrations.\n"
    "\n"
    "Usage: tutoring-migrate [flags] COMMAND\n"
    "  up [--to N]               apply pending migrations (up to version N)\n"
    "  down [--steps N | --to N] revert the last N migrations (default 1), or\n"
    "                            every version above N\n"
    "  status                    list versions: applied_at or pending, and\n"
    "                            CHANGED / MISSING FILE for edited or removed\n"
    "                            applied files\n"
    "  verify [--wait D]         fail unless every migration is applied and\n"
    "                            unchanged; newer applied migrations must be\n"
    "                            marked -- tutoring:backward-compatible;\n"
    "                            --wait retries until D has passed\n"
    "\n"
    "Exit status: 0 ok, 1 failure, 64 usage error.";

constexpr tutoring::FlagFromEnv kEnvFlags[] = {
    {"database_url", "DATABASE_URL"},
    {"migrations_dir", "MIGRATIONS_DIR"},
    {"database_pooler", "DATABASE_POOLER"},
};

int Fail(int exit_code, absl::string_view message) {
  std::fprintf(stderr, "tutoring-migrate: %s\n",
               tutoring::OneLine(message).c_str());
  return exit_code;
}

void PrintLine(absl::string_view line) {
  std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(stdout);
}

void PrintStatus(const std::vector<tutoring::db::MigrationState>& states) {
  using tutoring::db::MigrationStatus;
  size_t name_width = 4;
  for (const auto& state : states) {
    name_width = std::max(name_width, state.name.size());
  }
  const int width = static_cast<int>(name_width);
  std::printf("%-7s  %-*s  %s\n", "version", width, "name", "applied_at");
  for (const auto& state : states) {
    std::string applied = "pending";
    if (state.applied_at.has_value()) {
      applied = absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *state.applied_at,
                                 absl::UTCTimeZone());
    }
    if (state.status == MigrationStatus::kChanged) {
      absl::StrAppend(&applied, "  CHANGED");
    } else if (state.status == MigrationStatus::kMissingFile) {
      absl::StrAppend(&applied, state.backward_compatible
                                    ? "  MISSING FILE (backward-compatible)"
                                    : "  MISSING FILE");
    }
    std::printf("%-7s  %-*s  %s\n",
                absl::StrFormat("%04d", state.version).c_str(), width,
                state.name.c_str(), applied.c_str());
  }
}

// Verify, retried every kVerifyRetryInterval until it passes or `wait` has
// passed; each new failure reason is printed once while waiting.
absl::Status VerifyWithin(const tutoring::db::Migrator& migrator,
                          const tutoring::Clock& clock, absl::Duration wait) {
  const absl::Time deadline = clock.Now() + wait;
  std::string last_reason;
  while (true) {
    absl::Status status = migrator.Verify();
    if (status.ok() || clock.Now() >= deadline) return status;
    if (status.message() != last_reason) {
      last_reason = std::string(status.message());
      PrintLine(absl::StrCat("waiting: ", tutoring::OneLine(last_reason)));
    }
    tutoring::SleepUntil(clock,
                         std::min(clock.Now() + kVerifyRetryInterval, deadline));
  }
}

int Run(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    tutoring::ExitUsageError(
        args.empty() ? "missing command (up, down, status or verify)"
                     : absl::StrCat("expected one command, got: ",
                                    absl::StrJoin(args, " ")));
  }
  const std::string& command = args[0];
  const std::optional<int> to = absl::GetFlag(FLAGS_to);
  const std::optional<int> steps = absl::GetFlag(FLAGS_steps);
  if (command != "up" && command != "down" && command != "status" &&
      command != "verify") {
    tutoring::ExitUsageError(absl::StrCat("unknown command \"", command,
                                          "\" (up, down, status or verify)"));
  }
  if (steps.has_value() && command != "down") {
    tutoring::ExitUsageError("--steps is only valid with down");
  }
  if (to.has_value() && command != "up" && command != "down") {
    tutoring::ExitUsageError("--to is only valid with up or down");
  }
  const absl::Duration wait = absl::GetFlag(FLAGS_wait);
  if (wait != absl::ZeroDuration() && command != "verify") {
    tutoring::ExitUsageError("--wait is only valid with verify");
  }
  if (wait < absl::ZeroDuration()) {
    tutoring::ExitUsageError(absl::StrCat(
        "--wait must be >= 0, got ", absl::FormatDuration(wait)));
  }
  if (to.has_value() && steps.has_value()) {
    tutoring::ExitUsageError("give --steps or --to, not both");
  }
  // --to's upper bound is the folder's last version, which the Migrator
  // checks (INVALID_ARGUMENT, so exit 64 as well).
  if (to.has_value()) {
    tutoring::ExitIfUsageError(tutoring::RequireAtLeast("to", *to, 0));
  }
  if (steps.has_value()) {
    tutoring::ExitIfUsageError(tutoring::RequireAtLeast("steps", *steps, 1));
  }
  const absl::Duration lock_timeout = absl::GetFlag(FLAGS_lock_timeout);
  tutoring::ExitIfUsageError(
      tutoring::RequirePositive("lock-timeout", lock_timeout));
  const std::string database_url = absl::GetFlag(FLAGS_database_url);
  if (database_url.empty()) {
    tutoring::ExitUsageError(
        "no database: pass --database-url or set DATABASE_URL");
  }

  using Pooler = tutoring::db::MigratorOptions::Pooler;
  const std::string pooler_name = absl::GetFlag(FLAGS_database_pooler);
  Pooler pooler = Pooler::kAuto;
  if (pooler_name == "none" || pooler_name == "session") {
    pooler = Pooler::kDirect;
  } else if (pooler_name == "transaction") {
    pooler = Pooler::kTransaction;
  } else if (pooler_name != "auto") {
    tutoring::ExitUsageError(absl::StrCat(
        "--database-pooler must be auto, none, session or transaction, got \"",
        pooler_name, "\""));
  }

  absl::StatusOr<std::vector<tutoring::db::Migration>> migrations =
      tutoring::db::LoadMigrations(absl::GetFlag(FLAGS_migrations_dir));
  if (!migrations.ok()) return Fail(1, migrations.status().message());

  const tutoring::RealClock clock;
  tutoring::db::MigratorOptions options;
  options.lock_timeout = lock_timeout;
  options.progress = &PrintLine;
  options.pooler = pooler;
  const tutoring::db::Migrator migrator(database_url, *std::move(migrations),
                                        clock, std::move(options));

  absl::Status status;
  if (command == "up") {
    status = migrator.Up(to);
  } else if (command == "down") {
    status = migrator.Down(
        to.has_value() ? tutoring::db::DownTarget::ToVersion(*to)
                       : tutoring::db::DownTarget::Steps(steps.value_or(1)));
  } else if (command == "status") {
    absl::StatusOr<std::vector<tutoring::db::MigrationState>> states =
        migrator.GetStatus();
    if (states.ok()) PrintStatus(*states);
    status = states.status();
  } else {
    status = VerifyWithin(migrator, clock, wait);
  }
  if (status.ok()) return 0;
  return Fail(status.code() == absl::StatusCode::kInvalidArgument
                  ? tutoring::kExitUsage
                  : 1,
              status.message());
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
