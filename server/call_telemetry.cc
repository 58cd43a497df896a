#include "server/call_telemetry.h"

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>

#include <utility>

#include "absl/random/bernoulli_distribution.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/logging.h"

namespace tutoring::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// Seconds; finer than Prometheus' defaults at the bottom, where this
// service's calls are.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return *buckets;
}

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

spdlog::level::level_enum FailureLevel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      return spdlog::level::err;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return spdlog::level::warn;
    default:
      return spdlog::level::info;
  }
}

bool Sample(double share) {
  if (share >= 1) return true;
  if (share <= 0) return false;
  thread_local absl::BitGen bits;
  return absl::Bernoulli(bits, share);
}

class TelemetryInterceptor final : public grpc::experimental::Interceptor {
 public:
  TelemetryInterceptor(CallTelemetry& telemetry, ServerRpcInfo* info)
      : telemetry_(telemetry),
        info_(info),
        metrics_(telemetry.ForMethod(info->method(), info->type())),
        start_(telemetry.clock().Now()),
        sampled_(Sample(telemetry.options().access_log_sample)) {
    metrics_.Started();
  }

  ~TelemetryInterceptor() override {
    // A call that ended without a status of ours (cancelled, or stopped by
    // the server's shutdown) still leaves the in-flight gauge.
    if (!finished_) {
      metrics_.Finished(static_cast<int>(grpc::StatusCode::CANCELLED),
                        Seconds());
    }
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      ReadHeaders(*methods->GetRecvInitialMetadata());
    }
    if (sampled_ && methods->QueryInterceptionHookPoint(
                        InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (const grpc::ByteBuffer* sent = methods->GetSerializedSendMessage();
          sent != nullptr) {
        bytes_sent_ += static_cast<int64_t>(sent->Length());
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      OnStatus(*methods);
    }
    methods->Proceed();
  }

 private:
  double Seconds() const {
    return absl::ToDoubleSeconds(telemetry_.clock().Now() - start_);
  }

  void ReadHeaders(
      const std::multimap<grpc::string_ref, grpc::string_ref>& headers) {
    for (const auto& [key, value] : headers) {
      const absl::string_view k(key.data(), key.size());
      const absl::string_view v(value.data(), value.size());
      if (k == "x-request-id") {
        request_id_ = AcceptedRequestId(v);
      } else if (k == "traceparent") {
        traceparent_ = AcceptedTraceparent(v);
      }
    }
  }

  void OnStatus(InterceptorBatchMethods& methods) {
    const grpc::Status status = methods.GetSendStatus();
    const grpc::StatusCode code = status.error_code();
    const double seconds = Seconds();
    finished_ = true;
    metrics_.Finished(static_cast<int>(code), seconds);
    if (code == grpc::StatusCode::OK && !sampled_) return;

    std::vector<LogField> fields;
    fields.reserve(10);
    fields.emplace_back("kind", "access");
    fields.emplace_back("method", metrics_.full_name());
    fields.emplace_back("code", CodeName(static_cast<int>(code)));
    fields.emplace_back("duration_ms", seconds * 1000);
    fields.emplace_back("peer", info_->server_context()->peer());
    if (code != grpc::StatusCode::OK) {
      if (request_id_.empty()) request_id_ = NewRequestId();
      if (auto* trailers = methods.GetSendTrailingMetadata();
          trailers != nullptr) {
        trailers->emplace("x-request-id", request_id_);
      }
      fields.emplace_back("error", status.error_message());
      if (HidesDetails(code)) {
        methods.ModifySendStatus(
            grpc::Status(code, CallerMessage(code, request_id_)));
      }
    }
    if (!request_id_.empty()) fields.emplace_back("request_id", request_id_);
    fields.emplace_back("bytes_sent", bytes_sent_);
    if (!traceparent_.empty()) fields.emplace_back("traceparent", traceparent_);
    if (code == grpc::StatusCode::OK) {
      Log(spdlog::level::info, "call", fields);
    } else {
      LogLimited(absl::StrCat("call:", CodeName(static_cast<int>(code))),
                 FailureLevel(code), "call", std::move(fields));
    }
  }

  CallTelemetry& telemetry_;
  ServerRpcInfo* const info_;
  CallTelemetry::MethodMetrics& metrics_;
  const absl::Time start_;
  const bool sampled_;
  bool finished_ = false;
  int64_t bytes_sent_ = 0;
  std::string request_id_;
  std::string traceparent_;
};

class TelemetryInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TelemetryInterceptorFactory(CallTelemetry& telemetry)
      : telemetry_(telemetry) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      ServerRpcInfo* info) override {
    return new TelemetryInterceptor(telemetry_, info);
  }

 private:
  CallTelemetry& telemetry_;
};

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::pair<std::string, std::string> SplitMethodName(absl::string_view name) {
  if (name.size() > 1 && name.front() == '/') {
    const size_t slash = name.find('/', 1);
    if (slash != absl::string_view::npos && slash + 1 < name.size()) {
      return {std::string(name.substr(1, slash - 1)),
              std::string(name.substr(slash + 1))};
    }
  }
  return {"unknown", std::string(name)};
}

std::string AcceptedRequestId(absl::string_view header) {
  if (header.empty() || header.size() > 64) return "";
  for (char c : header) {
    if (!IsTokenChar(c)) return "";
  }
  return std::string(header);
}

std::string AcceptedTraceparent(absl::string_view header) {
  // version-traceid-parentid-flags; all-zero ids are invalid.
  if (header.size() != 55 || header[2] != '-' || header[35] != '-' ||
      header[52] != '-') {
    return "";
  }
  const absl::string_view version = header.substr(0, 2);
  const absl::string_view trace_id = header.substr(3, 32);
  const absl::string_view parent_id = header.substr(36, 16);
  const absl::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) ||
      !IsLowerHex(parent_id) || !IsLowerHex(flags) ||
      trace_id == std::string(32, '0') || parent_id == std::string(16, '0')) {
    return "";
  }
  return std::string(header);
}

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t value = absl::Uniform<uint64_t>(bits);
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[i] = kHex[value & 0xf];
    value >>= 4;
  }
  return id;
}

CallTelemetry::CallTelemetry(prometheus::Registry& registry,
                             const Clock& clock, CallTelemetryOptions options)
    : clock_(clock),
      options_(options),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, "
                         "regardless of success or failure.")
                   .Register(registry)),
      handling_seconds_(
          prometheus::BuildHistogram()
              .Name("grpc_server_handling_seconds")
              .Help("Histogram of response latency (seconds) of gRPC that "
                    "had been application-level handled by the server.")
              .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("tutoring_calls_in_flight")
                     .Help("Calls started and not finished yet.")
                     .Register(registry)),
      shed_(prometheus::BuildCounter()
                .Name("tutoring_calls_shed_total")
                .Help("Calls answered RESOURCE_EXHAUSTED (queue full or no "
                      "database connection in time).")
                .Register(registry)),
      deadline_exceeded_(
          prometheus::BuildCounter()
              .Name("tutoring_calls_deadline_exceeded_total")
              .Help("Calls whose deadline passed before they were answered.")
              .Register(registry)) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallTelemetry::InterceptorFactory() {
  return std::make_unique<TelemetryInterceptorFactory>(*this);
}

CallTelemetry::MethodMetrics& CallTelemetry::ForMethod(
    const char* full_name, grpc::experimental::ServerRpcInfo::Type type) {
  {
    // Every call looks its method up; only a method's first call adds it.
    absl::ReaderMutexLock lock(&mu_);
    if (const auto it = methods_.find(full_name); it != methods_.end()) {
      return *it->second;
    }
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<MethodMetrics>& slot = methods_[full_name];
  if (slot == nullptr) {
    slot = std::make_unique<MethodMetrics>(
        *this, full_name == nullptr ? "" : full_name, TypeName(type));
  }
  return *slot;
}

CallTelemetry::MethodMetrics::MethodMetrics(CallTelemetry& owner,
                                            std::string full_name,
                                            std::string type)
    : owner_(owner), full_name_(std::move(full_name)), type_(std::move(type)) {
  std::tie(service_, method_) = SplitMethodName(full_name_);
  const prometheus::Labels labels = {{"grpc_type", type_},
                                     {"grpc_service", service_},
                                     {"grpc_method", method_}};
  started_ = &owner_.started_.Add(labels);
  in_flight_ = &owner_.in_flight_.Add(labels);
  shed_ = &owner_.shed_.Add(labels);
  deadline_exceeded_ = &owner_.deadline_exceeded_.Add(labels);
}

void CallTelemetry::MethodMetrics::Started() {
  started_->Increment();
  in_flight_->Increment();
}

void CallTelemetry::MethodMetrics::Finished(int code, double seconds) {
  in_flight_->Decrement();
  if (code < 0 || code >= static_cast<int>(codes_.size())) {
    code = static_cast<int>(grpc::StatusCode::UNKNOWN);
  }
  const PerCode& per_code = ForCode(code);
  per_code.handled->Increment();
  per_code.seconds->Observe(seconds);
  if (code == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)) {
    shed_->Increment();
  } else if (code == static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED)) {
    deadline_exceeded_->Increment();
  }
}

const CallTelemetry::MethodMetrics::PerCode&
CallTelemetry::MethodMetrics::ForCode(int code) {
  if (const PerCode* known = codes_[code].load(std::memory_order_acquire);
      known != nullptr) {
    return *known;
  }
  absl::MutexLock lock(&codes_mu_);
  if (const PerCode* known = codes_[code].load(std::memory_order_acquire);
      known != nullptr) {
    return *known;
  }
  const prometheus::Labels labels = {{"grpc_type", type_},
                                     {"grpc_service", service_},
                                     {"grpc_method", method_},
                                     {"grpc_code", CodeName(code)}};
  owned_.push_back(std::make_unique<PerCode>(
      PerCode{&owner_.handled_.Add(labels),
              &owner_.handling_seconds_.Add(labels, LatencyBuckets())}));
  codes_[code].store(owned_.back().get(), std::memory_order_release);
  return *owned_.back();
}

}  // namespace tutoring::server
