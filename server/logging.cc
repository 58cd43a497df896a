#include "server/logging.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/json_escape.h"

namespace tutoring::server {
namespace {

// The fields of the event being written by this thread: the logger is
// synchronous, so the formatter runs inside Log's call on the same thread.
thread_local const std::vector<LogField>* t_fields = nullptr;

// Text format: a value is written bare unless it holds a space, a quote or
// an equals sign; either way with no line breaks.
void AppendTextValue(absl::string_view value, std::string& out) {
  const bool quote =
      value.empty() || value.find_first_of(" \"=") != absl::string_view::npos;
  if (!quote) {
    std::string escaped;
    AppendJsonEscaped(value, escaped);
    out += escaped;
    return;
  }
  out += '"';
  AppendJsonEscaped(value, out);
  out += '"';
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(160);
    const std::string time =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(msg.time),
                         absl::UTCTimeZone());
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    const absl::string_view payload(msg.payload.data(), msg.payload.size());
    if (format_ == LogFormat::kJson) {
      absl::StrAppend(&line, "{\"time\":\"", time, "\",\"level\":\"",
                      absl::string_view(level.data(), level.size()),
                      "\",\"msg\":\"");
      AppendJsonEscaped(payload, line);
      line += '"';
      if (t_fields != nullptr) {
        for (const LogField& field : *t_fields) {
          line += ",\"";
          AppendJsonEscaped(field.key, line);
          line += "\":";
          if (field.number) {
            line += field.value;
          } else {
            line += '"';
            AppendJsonEscaped(field.value, line);
            line += '"';
          }
        }
      }
      line += "}\n";
    } else {
      absl::StrAppend(&line, time, " ",
                      absl::string_view(level.data(), level.size()), " ");
      AppendJsonEscaped(payload, line);
      if (t_fields != nullptr) {
        for (const LogField& field : *t_fields) {
          absl::StrAppend(&line, " ", field.key, "=");
          AppendTextValue(field.value, line);
        }
      }
      line += '\n';
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  const LogFormat format_;
};

// The limiter LogLimited uses; set once by InstallLogging.
LogRateLimiter* g_limiter = nullptr;

void LogFromGrpc(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = spdlog::level::err;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = spdlog::level::info;
  LogLimited(absl::StrCat("grpc:", args->file, ":", args->line), level,
             args->message,
             {{"source", "grpc"},
              {"file", absl::StrCat(args->file, ":", args->line)}});
}

// protobuf's own log lines (e.g. "String field ... contains invalid UTF-8
// data" for every such request): rate-limited per source line.
void LogFromProtobuf(google::protobuf::LogLevel level, const char* filename,
                     int line, const std::string& message) {
  spdlog::level::level_enum ours = spdlog::level::info;
  if (level == google::protobuf::LOGLEVEL_WARNING) ours = spdlog::level::warn;
  if (level >= google::protobuf::LOGLEVEL_ERROR) ours = spdlog::level::err;
  LogLimited(absl::StrCat("protobuf:", filename, ":", line), ours, message,
             {{"source", "protobuf"},
              {"file", absl::StrCat(filename, ":", line)}});
}

}  // namespace

LogField::LogField(absl::string_view k, int64_t v)
    : key(k), value(absl::StrCat(v)), number(true) {}

LogField::LogField(absl::string_view k, double v) : key(k), number(true) {
  if (std::isfinite(v)) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.3f", v);
    value = buffer;
  } else {
    value = "null";
  }
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  if (text == "json") return LogFormat::kJson;
  if (text == "text") return LogFormat::kText;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-format must be json or text, got \"", text, "\""));
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(
    absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  static constexpr std::pair<const char*, spdlog::level::level_enum> kLevels[] =
      {{"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
       {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
       {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
       {"off", spdlog::level::off}};
  for (const auto& [name, level] : kLevels) {
    if (lower == name) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--log-level must be trace, debug, info, warn, error, critical or off, "
      "got \"",
      text, "\""));
}

LogRateLimiter::LogRateLimiter(const Clock& clock, double per_second,
                               int burst)
    : clock_(clock),
      per_second_(per_second),
      burst_(std::max(1, burst)) {}

bool LogRateLimiter::Admit(absl::string_view kind, int64_t* suppressed) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(kind);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = burst_;
  } else {
    bucket.tokens =
        std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(
                                             now - bucket.refilled) *
                                             per_second_);
  }
  bucket.refilled = now;
  if (bucket.tokens < 1) {
    ++bucket.suppressed;
    return false;
  }
  bucket.tokens -= 1;
  *suppressed = bucket.suppressed;
  bucket.suppressed = 0;
  return true;
}

void InstallLogging(const LogOptions& options, const Clock& clock) {
  auto logger = std::make_shared<spdlog::logger>(
      "tutoring-server", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<LineFormatter>(options.format));
  logger->set_level(options.level);
  // Errors reach the terminal or collector at once.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  static LogRateLimiter* limiter = new LogRateLimiter(
      clock, options.lines_per_second_per_kind, options.burst_per_kind);
  g_limiter = limiter;
  gpr_set_log_function(&LogFromGrpc);
  google::protobuf::SetLogHandler(&LogFromProtobuf);
}

void Log(spdlog::level::level_enum level, absl::string_view message,
         const std::vector<LogField>& fields) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  t_fields = &fields;
  logger->log(level, spdlog::string_view_t(message.data(), message.size()));
  t_fields = nullptr;
}

void Log(spdlog::level::level_enum level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  Log(level, message, std::vector<LogField>(fields));
}

void LogLimited(absl::string_view kind, spdlog::level::level_enum level,
                absl::string_view message, std::vector<LogField> fields) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  int64_t suppressed = 0;
  if (g_limiter != nullptr && !g_limiter->Admit(kind, &suppressed)) return;
  if (suppressed > 0) fields.emplace_back("suppressed", suppressed);
  Log(level, message, fields);
}

void LogLimited(absl::string_view kind, spdlog::level::level_enum level,
                absl::string_view message,
                std::initializer_list<LogField> fields) {
  LogLimited(kind, level, message, std::vector<LogField>(fields));
}

}  // namespace tutoring::server
