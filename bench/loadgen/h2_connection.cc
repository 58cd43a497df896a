#include "bench/loadgen/h2_connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
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

H2Connection::H2Connection(int fd, std::string authority,
                           CallObserver& observer)
    : fd_(fd),
      authority_(std::move(authority)),
      observer_(observer),
      read_buffer_(kReadBufferSize) {}

H2Connection::~H2Connection() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  ::close(fd_);
}

absl::StatusOr<std::unique_ptr<H2Connection>> H2Connection::Connect(
    const Endpoint& endpoint, absl::Duration timeout, CallObserver& observer) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = ::socket(endpoint.address.ss_family,
                          SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("socket: ", ErrnoText(errno)));
  }
  std::unique_ptr<H2Connection> connection(
      new H2Connection(fd, endpoint.authority, observer));
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

  nghttp2_nv headers[8] = {
      Header(":method", "POST"),
      Header(":scheme", "http"),
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
    const ssize_t n = ::recv(fd_, read_buffer_.data(), read_buffer_.size(), 0);
    if (n > 0) {
      const ssize_t used = nghttp2_session_mem_recv(
          session_, read_buffer_.data(), static_cast<size_t>(n));
      if (used < 0) {
        Close(absl::StrCat("HTTP/2 error: ",
                           nghttp2_strerror(static_cast<int>(used))));
        return;
      }
      if (static_cast<size_t>(n) < read_buffer_.size()) return;
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
    const ssize_t n = ::send(fd_, output_.data() + output_offset_,
                             output_.size() - output_offset_, MSG_NOSIGNAL);
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
