// Connection lifetime, liveness and per-connection limits of the gRPC
// server (gRPC channel arguments), for clusters behind an L4 (TCP) load balancer: a client keeps
// its connections for as long as they live, so without a maximum age new
// replicas would get no traffic from existing clients, and without
// keepalive a vanished client's connection would stay open.
#ifndef TUTORING_SERVER_CONNECTION_OPTIONS_H_
#define TUTORING_SERVER_CONNECTION_OPTIONS_H_

#include <grpcpp/server_builder.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace tutoring::server {

struct ConnectionOptions {
  // A connection older than this gets a GOAWAY (gRPC adds +-10% jitter), so
  // its client reconnects, through the balancer, to any replica.
  // absl::InfiniteDuration() keeps connections forever. At least 1 s.
  absl::Duration max_connection_age = absl::Minutes(30);
  // After that GOAWAY, calls in flight get this long to finish before the
  // connection is closed. >= 0; infinite waits for them.
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // The server pings a connection idle this long (also one without calls)
  // and closes it when no answer comes within keepalive_timeout. At least
  // 1 s; infinite sends no pings.
  absl::Duration keepalive_time = absl::Minutes(5);
  // At least 1 s and finite.
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Calls one connection may have open at once (HTTP/2
  // SETTINGS_MAX_CONCURRENT_STREAMS); a client's further calls wait in the
  // client. >= 1.
  int max_concurrent_streams = 256;
  // Largest request message taken, in bytes; larger ones are
  // RESOURCE_EXHAUSTED. The largest valid request (BatchGetStreaks with
  // 1,000 ids) is about 11 KB. >= 1024.
  int max_request_bytes = 64 * 1024;
};

// INVALID_ARGUMENT naming the flag (--max-connection-age, ...) and the rule.
absl::Status ValidateConnectionOptions(const ConnectionOptions& options);

// Sets the channel arguments of `options` (assumed valid) on `builder`.
void ApplyConnectionOptions(const ConnectionOptions& options,
                            grpc::ServerBuilder& builder);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_CONNECTION_OPTIONS_H_
