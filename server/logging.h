// The server's log: one line per event on stderr, either one JSON object
// per line (the default, for log collectors) or plain text, never a line
// break inside an event. Events carry structured fields
// (`{"time":...,"level":"info","msg":"call","method":...}`), and lines of
// one kind can be rate-limited so that an outage or a hostile client writes
// a few lines per second instead of one per call.
//
// Built on spdlog (Debian's libspdlog): InstallLogging replaces spdlog's
// default logger, so plain spdlog::info(...) calls elsewhere come out in the
// same format. gRPC's and protobuf's own log lines are routed here too, and
// rate-limited per source location.
#ifndef TUTORING_SERVER_LOGGING_H_
#define TUTORING_SERVER_LOGGING_H_

#include <spdlog/spdlog.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tutoring::server {

enum class LogFormat { kJson, kText };

struct LogOptions {
  LogFormat format = LogFormat::kJson;
  spdlog::level::level_enum level = spdlog::level::info;
  // Lines of one kind (see LogLimited) allowed per second once the burst is
  // spent, and the burst.
  double lines_per_second_per_kind = 2;
  int burst_per_kind = 5;
};

// "json" or "text"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);
// "trace", "debug", "info", "warn", "error", "critical" or "off";
// INVALID_ARGUMENT otherwise.
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view text);

// One structured field of an event. Numbers are written bare in JSON.
struct LogField {
  LogField(absl::string_view k, absl::string_view v)
      : key(k), value(v), number(false) {}
  LogField(absl::string_view k, const std::string& v)
      : key(k), value(v), number(false) {}
  LogField(absl::string_view k, const char* v)
      : key(k), value(v), number(false) {}
  LogField(absl::string_view k, int64_t v);
  LogField(absl::string_view k, int v) : LogField(k, int64_t{v}) {}
  LogField(absl::string_view k, double v);

  absl::string_view key;
  std::string value;
  bool number;
};

// Sets spdlog's default logger (stderr, the chosen format and level) and
// routes gRPC's and protobuf's log lines through it. Call once, early in
// main, before other threads log.
void InstallLogging(const LogOptions& options, const Clock& clock);

// Writes one event with `message` and `fields`.
void Log(spdlog::level::level_enum level, absl::string_view message,
         std::initializer_list<LogField> fields = {});
void Log(spdlog::level::level_enum level, absl::string_view message,
         const std::vector<LogField>& fields);

// Like Log, for events that can repeat at the rate of calls (failed calls,
// errors from libraries): at most LogOptions' rate per `kind`. The first
// line written after some were dropped carries "suppressed": N.
void LogLimited(absl::string_view kind, spdlog::level::level_enum level,
                absl::string_view message,
                std::initializer_list<LogField> fields = {});
void LogLimited(absl::string_view kind, spdlog::level::level_enum level,
                absl::string_view message, std::vector<LogField> fields);

// A token bucket per kind of line. Thread-safe.
class LogRateLimiter {
 public:
  // `clock` must outlive the limiter.
  LogRateLimiter(const Clock& clock, double per_second, int burst);

  // True when a line of `kind` may be written now; then `*suppressed` is the
  // number of lines of this kind refused since the last one admitted.
  bool Admit(absl::string_view kind, int64_t* suppressed)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    int64_t suppressed = 0;
  };

  // Constant after construction.
  const Clock& clock_;
  const double per_second_;
  const double burst_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_LOGGING_H_
