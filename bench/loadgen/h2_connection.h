// Unary gRPC calls over one HTTP/2 connection, plaintext (h2c with prior
// knowledge, the way gRPC talks without TLS) or TLS (OpenSSL, ALPN "h2",
// optionally with a client certificate), implemented on nghttp2 instead
// of the gRPC library: the load generator must cost less CPU per call than
// the server it measures, and gRPC's own client costs about three times what
// h2load does (see docs/PERFORMANCE.md).
//
// Speaks the gRPC wire protocol (PROTOCOL-HTTP2.md) for unary calls: POST
// to /package.Service/Method with content-type application/grpc and
// te: trailers, a length-prefixed uncompressed message, an optional
// grpc-timeout; the status comes from grpc-status in the trailers (or a
// trailers-only response), else from the HTTP status or the RST_STREAM code.
//
// Thread safety: ResolveTarget and FormatGrpcTimeout may be called from any
// thread; one thread drives each H2Connection (see the class).
#ifndef TUTORING_BENCH_LOADGEN_H2_CONNECTION_H_
#define TUTORING_BENCH_LOADGEN_H2_CONNECTION_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct nghttp2_session;
struct ssl_st;
struct ssl_ctx_st;

namespace tutoring::bench {

// Where to connect: a resolved socket address and the :authority to send.
struct Endpoint {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  std::string authority;  // "host:port"
};

// TLS towards the server.
struct TlsSettings {
  // PEM CA bundle the server's certificate must chain to; "" uses
  // OpenSSL's default roots.
  std::string ca_file;
  // PEM client certificate and key (mTLS); both or neither.
  std::string cert_file;
  std::string key_file;
  // Name (or IP address) the server's certificate must carry, also sent as
  // SNI when it is a name; "" means the target's host.
  std::string server_name;
};

// An OpenSSL client context (TLS 1.2+, ALPN "h2", peer verification on),
// shared by every connection of a run; thread-safe once created. Creating
// one sets SIGPIPE to SIG_IGN when it is SIG_DFL (OpenSSL writes to the
// socket without MSG_NOSIGNAL).
class TlsContext {
 public:
  // INVALID_ARGUMENT naming the file for one that cannot be loaded, or a key
  // that does not match its certificate.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Create(
      const TlsSettings& settings);
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();

  ssl_ctx_st* ctx() const { return ctx_; }
  const std::string& server_name() const { return server_name_; }

 private:
  TlsContext(ssl_ctx_st* ctx, std::string server_name)
      : ctx_(ctx), server_name_(std::move(server_name)) {}
  ssl_ctx_st* const ctx_;
  const std::string server_name_;
};

// How to connect: plaintext without `tls`; `bearer_token`, when set, goes
// on every call as "authorization: Bearer <token>".
struct H2ConnectionOptions {
  std::shared_ptr<const TlsContext> tls;
  std::string bearer_token;
};

// Resolves "host:port" ("[v6addr]:port" for IPv6; an optional "dns:///"
// prefix is ignored) to its first address. INVALID_ARGUMENT for a malformed
// target, UNAVAILABLE when the name does not resolve.
absl::StatusOr<Endpoint> ResolveTarget(absl::string_view target);

// One unary call. The caller owns it; between StartCall and OnCallDone the
// connection refers to it and its inputs must not change.
class UnaryCall {
 public:
  UnaryCall() = default;
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;

  // Inputs. `path` is "/package.Service/Method" and must outlive the call;
  // `message` is the serialized request.
  absl::string_view path;
  std::string message;
  // For the owner's bookkeeping; untouched by the connection.
  void* owner_data = nullptr;

  // Results, valid in OnCallDone: the gRPC status code (0..16), the
  // grpc-message (percent-decoded, non-printable bytes replaced by '?'; may
  // be set on failures only), and the response's DATA payload (gRPC-framed
  // messages, unparsed).
  int status_code() const { return status_code_; }
  const std::string& status_message() const { return status_message_; }
  const std::string& response() const { return response_; }

 private:
  friend class H2Connection;
  friend struct H2ConnectionCallbacks;

  int status_code_ = 0;
  std::string status_message_;
  std::string response_;
  // Connection state.
  int http_status_ = 0;
  int grpc_status_ = -1;  // -1: no grpc-status header seen
  int forced_code_ = -1;  // set by Cancel
  char frame_header_[5] = {};
  size_t body_sent_ = 0;
  int32_t stream_id_ = 0;
  size_t in_flight_index_ = 0;
};

// Receives finished calls. Called on the thread that drives the connection,
// from inside its methods; it may start new calls (on this connection or
// another) but must not destroy the connection.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void OnCallDone(UnaryCall& call) = 0;
};

// Not thread-safe: one thread drives a connection (and its observer runs on
// that thread). Typical loop: wait until fd() is readable (or writable, when
// Flush() left output pending), call OnReadable(), then Flush() whenever
// wants_write().
class H2Connection {
 public:
  // Connects (blocking, at most `timeout` for TCP connect plus the HTTP/2
  // SETTINGS exchange) and returns a connection ready for calls, with its
  // socket in non-blocking mode. UNAVAILABLE naming the reason when the
  // target refuses, times out, or does not speak HTTP/2.
  // With options.tls, the TLS handshake (server certificate verified, ALPN
  // "h2" required) is part of the connect and of `timeout`.
  static absl::StatusOr<std::unique_ptr<H2Connection>> Connect(
      const Endpoint& endpoint, absl::Duration timeout, CallObserver& observer,
      const H2ConnectionOptions& options = {});

  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;
  // Closes the socket. Calls still in flight are dropped without a callback;
  // call Close() first to have them completed.
  ~H2Connection();

  int fd() const { return fd_; }

  // Queues `call` (sent by the next Flush). `grpc_timeout` is the value of
  // the grpc-timeout header ("" for none; see FormatGrpcTimeout). Returns
  // false, without starting the call, when the connection takes no new
  // streams (closed, GOAWAY received, stream ids used up).
  bool StartCall(UnaryCall& call, absl::string_view grpc_timeout);

  // Resets the call's stream (RST_STREAM CANCEL); it completes with
  // `status_code` once the reset is written (by the next Flush). No effect
  // on a call that already completed.
  void Cancel(UnaryCall& call, int status_code);

  // Reads everything available and processes it, completing calls. On EOF,
  // a socket error or a protocol error the connection closes (see Close).
  void OnReadable();

  // Whether there is output to write.
  bool wants_write() const;

  // Writes queued frames until done or the socket is full. Returns true when
  // output remains (wait for writability). On a socket error the connection
  // closes.
  bool Flush();

  // Whether new calls can start. False once closed or after GOAWAY.
  bool accepting() const { return !closed_ && !goaway_; }
  // True once closed; then it does nothing more and can be destroyed.
  bool closed() const { return closed_; }
  // True when it took GOAWAY and has nothing in flight: close and replace.
  bool drained() const { return goaway_ && in_flight_.empty(); }
  // Why it closed ("" while open).
  const std::string& close_reason() const { return close_reason_; }

  size_t in_flight() const { return in_flight_.size(); }
  // The calls in flight, for deadline checks. Invalidated by any call that
  // completes one.
  const std::vector<UnaryCall*>& calls_in_flight() const { return in_flight_; }

  // Completes every call in flight with UNAVAILABLE (`reason` as message)
  // and stops. Idempotent.
  void Close(absl::string_view reason);

 private:
  H2Connection(int fd, std::string authority, CallObserver& observer,
               std::string authorization);
  absl::Status TlsHandshake(const TlsContext& tls, absl::Time deadline);
  absl::Status Handshake(absl::Time deadline);
  // recv/send through TLS when it is on: bytes moved, 0 for EOF, -1 with
  // errno set (EAGAIN when the socket must become ready first).
  ssize_t Receive(uint8_t* buffer, size_t size);
  ssize_t Send(const char* data, size_t size);

  // nghttp2 calls back into these (defined in the .cc).
  friend struct H2ConnectionCallbacks;

  void Complete(UnaryCall& call, uint32_t http2_error_code);

  const int fd_;
  const std::string authority_;
  CallObserver& observer_;
  // "Bearer <token>", or "" for no authorization header.
  const std::string authorization_;
  // TLS session; nullptr for plaintext.
  ssl_st* ssl_ = nullptr;
  nghttp2_session* session_ = nullptr;
  std::vector<UnaryCall*> in_flight_;
  std::string output_;
  size_t output_offset_ = 0;
  std::vector<uint8_t> read_buffer_;
  bool settings_received_ = false;
  bool goaway_ = false;
  bool closed_ = false;
  std::string close_reason_;
};

// The grpc-timeout header value for `timeout` (at most 8 digits and a unit,
// rounded up to the unit), e.g. "250m" or "20S". "" for a non-positive or
// infinite timeout.
std::string FormatGrpcTimeout(absl::Duration timeout);

}  // namespace tutoring::bench

#endif  // TUTORING_BENCH_LOADGEN_H2_CONNECTION_H_
