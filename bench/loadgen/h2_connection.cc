#include "bench/loadgen/h2_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tutoring::bench {
namespace {

constexpr int kStatusCancelled = 1;
constexpr int kStatusUnknown = 2;
constexpr int kStatusPermissionDenied = 7;
constexpr int kStatusResourceExhausted = 8;
constexpr int kStatusUnimplemented = 12;
constexpr int kStatusInternal = 13;
constexpr int kStatusUnavailable = 14;
constexpr int kStatusUnauthenticated = 16;

constexpr size_t kReadBufferSize = 256 * 1024;
// Gather at most this much output before writing it.
constexpr size_t kWriteChunk = 256 * 1024;
// Responses may be large pages (1000 users): let the server send a lot
// before it has to wait for a WINDOW_UPDATE.
constexpr uint32_t kStreamWindow = 16 * 1024 * 1024;
constexpr int32_t kConnectionWindow = 1 << 30;

// From gRPC's doc/http-grpc-status-mapping.md.
int StatusFromHttp(int http_status) {
  switch (http_status) {
    case 400:
      return kStatusInternal;
    case 401:
      return kStatusUnauthenticated;
    case 403:
      return kStatusPermissionDenied;
    case 404:
      return kStatusUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kStatusUnavailable;
    default:
      return kStatusUnknown;
  }
}

// From gRPC's doc/PROTOCOL-HTTP2.md ("Errors").
int StatusFromHttp2Error(uint32_t error_code) {
  switch (error_code) {
    case NGHTTP2_REFUSED_STREAM:
      return kStatusUnavailable;
    case NGHTTP2_CANCEL:
      return kStatusCancelled;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return kStatusResourceExhausted;
    case NGHTTP2_INADEQUATE_SECURITY:
      return kStatusPermissionDenied;
    default:
      return kStatusInternal;
  }
}

int HexValue(char c) {
  return absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
}

// grpc-message is percent-encoded; reports want it readable.
void DecodeGrpcMessage(absl::string_view encoded, std::string* out) {
  out->clear();
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%' && i + 2 < encoded.size() &&
        absl::ascii_isxdigit(encoded[i + 1]) &&
        absl::ascii_isxdigit(encoded[i + 2])) {
      c = static_cast<char>(HexValue(encoded[i + 1]) * 16 +
                            HexValue(encoded[i + 2]));
      i += 2;
    }
    out->push_back(absl::ascii_isprint(c) ? c : '?');
  }
}

nghttp2_nv Header(absl::string_view name, absl::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

// The nghttp2 callbacks; `user_data` is always the H2Connection.
struct H2ConnectionCallbacks {
  static H2Connection& Self(void* user_data) {
    return *static_cast<H2Connection*>(user_data);
  }

  static UnaryCall* CallOf(nghttp2_session* session, int32_t stream_id) {
    return static_cast<UnaryCall*>(
        nghttp2_session_get_stream_user_data(session, stream_id));
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length,
                      uint8_t /*flags*/, void* /*user_data*/) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    UnaryCall* call = CallOf(session, frame->hd.stream_id);
    if (call == nullptr) return 0;
    const absl::string_view key(reinterpret_cast<const char*>(name),
                                name_length);
    const absl::string_view text(reinterpret_cast<const char*>(value),
                                 value_length);
    if (key == ":status") {
      if (!absl::SimpleAtoi(text, &call->http_status_)) call->http_status_ = 0;
    } else if (key == "grpc-status") {
      int code = 0;
      call->grpc_status_ = absl::SimpleAtoi(text, &code) && code >= 0 &&
                                   code <= kStatusUnauthenticated
                               ? code
                               : kStatusUnknown;
    } else if (key == "grpc-message") {
      DecodeGrpcMessage(text, &call->status_message_);
    }
    return 0;
  }

  static int OnData(nghttp2_session* session, uint8_t /*flags*/,
                    int32_t stream_id, const uint8_t* data, size_t length,
                    void* /*user_data*/) {
    UnaryCall* call = CallOf(session, stream_id);
    if (call != nullptr) {
      call->response_.append(reinterpret_cast<const char*>(data), length);
    }
    return 0;
  }

  static int OnFrame(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                     void* user_data) {
    H2Connection& self = Self(user_data);
    if (frame->hd.type == NGHTTP2_SETTINGS &&
        (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      self.settings_received_ = true;
    } else if (frame->hd.type == NGHTTP2_GOAWAY) {
      self.goaway_ = true;
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session* session, int32_t stream_id,
                           uint32_t error_code, void* user_data) {
    UnaryCall* call = CallOf(session, stream_id);
    if (call != nullptr) Self(user_data).Complete(*call, error_code);
    return 0;
  }

  // Supplies the request body: the 5-byte gRPC frame header, then the
  // message.
  static ssize_t ReadBody(nghttp2_session* /*session*/, int32_t /*stream_id*/,
                          uint8_t* buffer, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void* /*user_data*/) {
    UnaryCall& call = *static_cast<UnaryCall*>(source->ptr);
    const size_t total = sizeof(call.frame_header_) + call.message.size();
    size_t written = 0;
    while (written < length && call.body_sent_ < total) {
      const size_t header = sizeof(call.frame_header_);
      const char* from;
      size_t available;
      if (call.body_sent_ < header) {
        from = call.frame_header_ + call.body_sent_;
        available = header - call.body_sent_;
      } else {
        from = call.message.data() + (call.body_sent_ - header);
        available = total - call.body_sent_;
      }
      const size_t n = std::min(available, length - written);
      std::memcpy(buffer + written, from, n);
      written += n;
      call.body_sent_ += n;
    }
    if (call.body_sent_ == total) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(written);
  }

  static nghttp2_session_callbacks* Get() {
    static nghttp2_session_callbacks* const callbacks = [] {
      nghttp2_session_callbacks* c = nullptr;
      nghttp2_session_callbacks_new(&c);
      nghttp2_session_callbacks_set_on_header_callback(c, &OnHeader);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &OnData);
      nghttp2_session_callbacks_set_on_frame_recv_callback(c, &OnFrame);
      nghttp2_session_callbacks_set_on_stream_close_callback(c, &OnStreamClose);
      return c;
    }();
    return callbacks;
  }
};

absl::StatusOr<Endpoint> ResolveTarget(absl::string_view target) {
  absl::string_view rest = target;
  absl::ConsumePrefix(&rest, "dns:///");
  std::string host;
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close + 1 >= rest.size() ||
        rest[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "target must be host:port or [ipv6]:port, got \"", target, "\""));
    }
    host = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target must be host:port or [ipv6]:port, got \"", target, "\""));
    }
    host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 1 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("target port must be in 1..65535, got \"", port, "\""));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  const std::string port_text(port);
  const int error =
      getaddrinfo(host.c_str(), port_text.c_str(), &hints, &results);
  if (error != 0 || results == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, ": ", gai_strerror(error)));
  }
  Endpoint endpoint;
  std::memcpy(&endpoint.address, results->ai_addr, results->ai_addrlen);
  endpoint.address_length = results->ai_addrlen;
  endpoint.authority = std::string(rest);
  freeaddrinfo(results);
  return endpoint;
}

std::string FormatGrpcTimeout(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return "";
  }
  // The value has at most 8 digits: pick the finest unit that fits.
  struct Unit {
    absl::Duration size;
    const char* suffix;
  };
  const Unit units[] = {
      {absl::Nanoseconds(1), "n"},  {absl::Microseconds(1), "u"},
      {absl::Milliseconds(1), "m"}, {absl::Seconds(1), "S"},
      {absl::Minutes(1), "M"},      {absl::Hours(1), "H"}};
  for (const Unit& unit : units) {
    const int64_t count =
        absl::ToInt64Nanoseconds(absl::Ceil(timeout, unit.size)) /
        absl::ToInt64Nanoseconds(unit.size);
    if (count <= 99999999) return absl::StrCat(count, unit.suffix);
  }
  return "99999999H";
}

namespace {

// The last OpenSSL error of this thread, as text ("" if none).
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Create(
    const TlsSettings& settings) {
  // OpenSSL's socket BIO writes with write(2), without MSG_NOSIGNAL: a
  // server closing a connection would end the process with SIGPIPE. Ignore
  // it (when nobody handles it), so the write fails with EPIPE instead.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 &&
      current.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslError()));
  }
  std::shared_ptr<const TlsContext> context(
      new TlsContext(ctx, settings.server_name));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn));
  if (settings.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
  } else if (SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(),
                                           nullptr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-ca: cannot load \"", settings.ca_file, "\": ", OpenSslError()));
  }
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) !=
        1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-cert: cannot load \"", settings.cert_file,
                       "\": ", OpenSslError()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-key: cannot load \"", settings.key_file,
                       "\" as the key of --tls-cert: ", OpenSslError()));
    }
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

H2Connection::H2Connection(int fd, std::string authority,
                           CallObserver& observer, std::string authorization)
    : fd_(fd),
      authority_(std::move(authority)),
      observer_(observer),
      authorization_(std::move(authorization)),
      read_buffer_(kReadBufferSize) {}

H2Connection::~H2Connection() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  ::close(fd_);
}

absl::Status H2Connection::TlsHandshake(const TlsContext& tls,
                                        absl::Time deadline) {
  ssl_ = SSL_new(tls.ctx());
  if (ssl_ == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_new: ", OpenSslError()));
  }
  SSL_set_fd(ssl_, fd_);
  std::string name = tls.server_name();
  if (name.empty()) {
    name = authority_.substr(0, authority_.rfind(':'));
    if (name.size() >= 2 && name.front() == '[') {
      name = name.substr(1, name.size() - 2);
    }
  }
  in6_addr ip{};
  const bool is_ip = ::inet_pton(AF_INET, name.c_str(), &ip) == 1 ||
                     ::inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    SSL_set1_host(ssl_, name.c_str());
  }
  SSL_set_connect_state(ssl_);
  while (true) {
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) break;
    const int error = SSL_get_error(ssl_, result);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (error == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      const long verify = SSL_get_verify_result(ssl_);
      return absl::UnavailableError(absl::StrCat(
          "TLS handshake failed: ",
          verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                              : OpenSslError()));
    }
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) return absl::DeadlineExceededError("TLS handshake");
    pollfd waiter = {fd_, events, 0};
    if (::poll(&waiter, 1, static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll: ", ErrnoText(errno)));
    }
  }
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &length);
  if (length != 2 || std::memcmp(protocol, "h2", 2) != 0) {
    return absl::UnavailableError("the server did not select ALPN \"h2\"");
  }
  return absl::OkStatus();
}

ssize_t H2Connection::Receive(uint8_t* buffer, size_t size) {
  if (ssl_ == nullptr) return ::recv(fd_, buffer, size, 0);
  errno = 0;  // SSL_ERROR_SYSCALL with errno 0 means EOF
  const int n = SSL_read(ssl_, buffer, static_cast<int>(size));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return 0;  // EOF without close_notify
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

ssize_t H2Connection::Send(const char* data, size_t size) {
  if (ssl_ == nullptr) return ::send(fd_, data, size, MSG_NOSIGNAL);
  errno = 0;
  const int n = SSL_write(ssl_, data, static_cast<int>(size));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) errno = EPIPE;
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

absl::StatusOr<std::unique_ptr<H2Connection>> H2Connection::Connect(
    const Endpoint& endpoint, absl::Duration timeout, CallObserver& observer,
    const H2ConnectionOptions& options) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = ::socket(endpoint.address.ss_family,
                          SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("socket: ", ErrnoText(errno)));
  }
  std::unique_ptr<H2Connection> connection(new H2Connection(
      fd, endpoint.authority, observer,
      options.bearer_token.empty()
          ? std::string()
          : absl::StrCat("Bearer ", options.bearer_token)));
  const std::string where = absl::StrCat("connecting to ", endpoint.authority);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&endpoint.address),
                endpoint.address_length) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(
          absl::StrCat(where, ": ", ErrnoText(errno)));
    }
    pollfd waiter = {fd, POLLOUT, 0};
    const int64_t wait_ms =
        std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&waiter, 1, static_cast<int>(wait_ms)) != 1) {
      return absl::UnavailableError(absl::StrCat(where, ": timed out"));
    }
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      return absl::UnavailableError(
          absl::StrCat(where, ": ", ErrnoText(error)));
    }
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  if (options.tls != nullptr) {
    if (absl::Status tls = connection->TlsHandshake(*options.tls, deadline);
        !tls.ok()) {
      return absl::UnavailableError(absl::StrCat(where, ": ", tls.message()));
    }
  }
  absl::Status handshake = connection->Handshake(deadline);
  if (!handshake.ok()) {
    return absl::UnavailableError(
        absl::StrCat(where, ": ", handshake.message()));
  }
  return connection;
}

absl::Status H2Connection::Handshake(absl::Time deadline) {
  // nghttp2's HTTP messaging checks validate every header name and value
  // received (a few percent of the client's CPU); the fields that matter
  // here are parsed and checked in OnHeader anyway.
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_http_messaging(option, 1);
  nghttp2_session_client_new2(&session_, H2ConnectionCallbacks::Get(), this,
                              option);
  nghttp2_option_del(option);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        kConnectionWindow);
  // Until the server's SETTINGS arrive we do not know it speaks HTTP/2.
  while (!settings_received_ && !closed_) {
    const bool pending = Flush();
    if (closed_) break;
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      return absl::DeadlineExceededError("no HTTP/2 SETTINGS from the server");
    }
    pollfd waiter = {fd_, static_cast<short>(POLLIN | (pending ? POLLOUT : 0)),
                     0};
    if (::poll(&waiter, 1, static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll: ", ErrnoText(errno)));
    }
    if (waiter.revents & (POLLIN | POLLERR | POLLHUP)) OnReadable();
  }
  if (closed_) {
    return absl::UnavailableError(
        absl::StrCat("no HTTP/2 from the server (", close_reason_, ")"));
  }
  Flush();  // the SETTINGS ACK
  return absl::OkStatus();
}

bool H2Connection::StartCall(UnaryCall& call, absl::string_view grpc_timeout) {
  if (!accepting()) return false;
  call.status_code_ = 0;
  call.status_message_.clear();
  call.response_.clear();
  call.http_status_ = 0;
  call.grpc_status_ = -1;
  call.forced_code_ = -1;
  call.body_sent_ = 0;
  const uint32_t length = static_cast<uint32_t>(call.message.size());
  call.frame_header_[0] = 0;  // not compressed
  call.frame_header_[1] = static_cast<char>(length >> 24);
  call.frame_header_[2] = static_cast<char>(length >> 16);
  call.frame_header_[3] = static_cast<char>(length >> 8);
  call.frame_header_[4] = static_cast<char>(length);

  nghttp2_nv headers[9] = {
      Header(":method", "POST"),
      Header(":scheme", ssl_ != nullptr ? "https" : "http"),
      Header(":path", call.path),
      Header(":authority", authority_),
      Header("content-type", "application/grpc"),
      Header("te", "trailers"),
      Header("user-agent", "tutoring-bench"),
  };
  size_t header_count = 7;
  if (!grpc_timeout.empty()) {
    headers[header_count++] = Header("grpc-timeout", grpc_timeout);
  }
  if (!authorization_.empty()) {
    headers[header_count++] = Header("authorization", authorization_);
  }
  nghttp2_data_provider body;
  body.source.ptr = &call;
  body.read_callback = &H2ConnectionCallbacks::ReadBody;
  const int32_t stream_id = nghttp2_submit_request(session_, nullptr, headers,
                                                   header_count, &body, &call);
  if (stream_id < 0) {
    // NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE: this connection has used up its
    // stream ids; it must be replaced.
    goaway_ = true;
    return false;
  }
  call.stream_id_ = stream_id;
  call.in_flight_index_ = in_flight_.size();
  in_flight_.push_back(&call);
  return true;
}

void H2Connection::Cancel(UnaryCall& call, int status_code) {
  if (closed_ || call.in_flight_index_ >= in_flight_.size() ||
      in_flight_[call.in_flight_index_] != &call || call.forced_code_ >= 0) {
    return;
  }
  call.forced_code_ = status_code;
  // A stream whose HEADERS are still queued is dropped unsent; either way
  // nghttp2 closes it during the next Flush, which completes the call.
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, call.stream_id_,
                            NGHTTP2_CANCEL);
}

void H2Connection::Complete(UnaryCall& call, uint32_t http2_error_code) {
  if (call.forced_code_ >= 0) {
    call.status_code_ = call.forced_code_;
  } else if (call.grpc_status_ >= 0) {
    call.status_code_ = call.grpc_status_;
  } else if (http2_error_code != NGHTTP2_NO_ERROR) {
    call.status_code_ = StatusFromHttp2Error(http2_error_code);
    call.status_message_ = absl::StrCat(
        "stream reset: ", nghttp2_http2_strerror(http2_error_code));
  } else if (call.http_status_ != 200) {
    call.status_code_ = StatusFromHttp(call.http_status_);
    call.status_message_ = absl::StrCat("HTTP status ", call.http_status_);
  } else {
    call.status_code_ = kStatusUnknown;
    call.status_message_ = "response without grpc-status";
  }
  // Swap-remove from the in-flight list.
  UnaryCall* last = in_flight_.back();
  in_flight_[call.in_flight_index_] = last;
  last->in_flight_index_ = call.in_flight_index_;
  in_flight_.pop_back();
  call.in_flight_index_ = SIZE_MAX;
  observer_.OnCallDone(call);
}

void H2Connection::OnReadable() {
  while (!closed_) {
    const ssize_t n = Receive(read_buffer_.data(), read_buffer_.size());
    if (n > 0) {
      const ssize_t used = nghttp2_session_mem_recv(
          session_, read_buffer_.data(), static_cast<size_t>(n));
      if (used < 0) {
        Close(absl::StrCat("HTTP/2 error: ",
                           nghttp2_strerror(static_cast<int>(used))));
        return;
      }
      // SSL_read returns one record at a time: with TLS, read until it
      // wants more from the socket.
      if (static_cast<size_t>(n) < read_buffer_.size() && ssl_ == nullptr) {
        return;
      }
      continue;
    }
    if (n == 0) {
      Close("the server closed the connection");
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      Close(absl::StrCat("read: ", ErrnoText(errno)));
    }
    return;
  }
}

bool H2Connection::wants_write() const {
  return !closed_ && (output_offset_ < output_.size() ||
                      nghttp2_session_want_write(session_) != 0);
}

bool H2Connection::Flush() {
  while (!closed_) {
    if (output_offset_ == output_.size()) {
      output_.clear();
      output_offset_ = 0;
      while (output_.size() < kWriteChunk) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          Close(absl::StrCat("HTTP/2 error: ",
                             nghttp2_strerror(static_cast<int>(n))));
          return false;
        }
        if (n == 0) break;
        output_.append(reinterpret_cast<const char*>(data),
                       static_cast<size_t>(n));
      }
      if (output_.empty()) return false;
    }
    const ssize_t n = Send(output_.data() + output_offset_,
                           output_.size() - output_offset_);
    if (n >= 0) {
      output_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    Close(absl::StrCat("write: ", ErrnoText(errno)));
  }
  return false;
}

void H2Connection::Close(absl::string_view reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::string(reason);
  // Observers may start calls elsewhere meanwhile; this list only shrinks.
  while (!in_flight_.empty()) {
    UnaryCall& call = *in_flight_.back();
    in_flight_.pop_back();
    call.in_flight_index_ = SIZE_MAX;
    call.status_code_ =
        call.forced_code_ >= 0 ? call.forced_code_ : kStatusUnavailable;
    call.status_message_ = close_reason_;
    observer_.OnCallDone(call);
  }
}

}  // namespace tutoring::bench
