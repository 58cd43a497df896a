#include "server/connection_options.h"

#include <grpc/grpc.h>

#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {
namespace {

// gRPC takes these durations as int milliseconds, INT_MAX meaning never.
int ToMilliseconds(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return INT_MAX;
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return ms >= INT_MAX ? INT_MAX : static_cast<int>(ms);
}

absl::Status AtLeastOneSecond(absl::string_view flag, absl::Duration value,
                              bool infinite_allowed) {
  if (value == absl::InfiniteDuration()) {
    if (infinite_allowed) return absl::OkStatus();
  } else if (value >= absl::Seconds(1)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must be at least 1s", infinite_allowed ? " (or inf)" : "",
      ", got ", absl::FormatDuration(value)));
}

}  // namespace

absl::Status ValidateConnectionOptions(const ConnectionOptions& options) {
  if (absl::Status s = AtLeastOneSecond(
          "max-connection-age", options.max_connection_age, true);
      !s.ok()) {
    return s;
  }
  if (options.max_connection_age_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-connection-age-grace must be >= 0, got ",
                     absl::FormatDuration(options.max_connection_age_grace)));
  }
  if (absl::Status s =
          AtLeastOneSecond("keepalive-time", options.keepalive_time, true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = AtLeastOneSecond(
          "keepalive-timeout", options.keepalive_timeout, false);
      !s.ok()) {
    return s;
  }
  if (options.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-concurrent-streams must be >= 1, got ",
                     options.max_concurrent_streams));
  }
  if (options.max_request_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-request-bytes must be >= 1024, got ",
                     options.max_request_bytes));
  }
  return absl::OkStatus();
}

void ApplyConnectionOptions(const ConnectionOptions& options,
                            grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             ToMilliseconds(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ToMilliseconds(options.max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             ToMilliseconds(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             ToMilliseconds(options.keepalive_timeout));
  // Ping idle connections too: those are the ones a vanished client leaves.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC stops pinging after two pings without data by default; an idle
  // connection would then stay unchecked.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
}

}  // namespace tutoring::server
