#include "bench/loadgen/load_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/json_escape.h"

namespace tutoring::bench {
namespace {

constexpr const char* kStatusCodeNames[kStatusCodeCount] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

struct Quantile {
  const char* json_key;
  const char* label;
  double q;
};
constexpr Quantile kQuantiles[] = {
    {"p50", "p50", 0.5},
    {"p90", "p90", 0.9},
    {"p99", "p99", 0.99},
    {"p99_9", "p99.9", 0.999},
};

double Millis(int64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string JsonString(absl::string_view text) { return JsonQuoted(text); }

// JSON has no NaN or infinity; the values here are finite by construction,
// but a zero-length run must not print "inf".
std::string JsonNumber(double value) {
  if (!(value == value) || value > 1e300 || value < -1e300) return "0";
  return absl::StrFormat("%.3f", value);
}

std::string LatencyJson(const Histogram& h) {
  std::vector<std::string> fields = {
      absl::StrCat("\"min\": ", JsonNumber(Millis(h.min()))),
      absl::StrCat("\"mean\": ", JsonNumber(h.mean() / 1e6))};
  for (const Quantile& q : kQuantiles) {
    fields.push_back(absl::StrCat(
        "\"", q.json_key, "\": ", JsonNumber(Millis(h.ValueAtQuantile(q.q)))));
  }
  fields.push_back(absl::StrCat("\"max\": ", JsonNumber(Millis(h.max()))));
  return absl::StrCat("{", absl::StrJoin(fields, ", "), "}");
}

std::string CodesJson(const CallStats& stats) {
  std::vector<std::string> fields;
  for (int code = 0; code < kStatusCodeCount; ++code) {
    if (stats.codes[code] == 0) continue;
    fields.push_back(
        absl::StrCat("\"", kStatusCodeNames[code], "\": ", stats.codes[code]));
  }
  return absl::StrCat("{", absl::StrJoin(fields, ", "), "}");
}

std::string Mode(const LoadReport& report) {
  return report.target_rps > 0 ? "open" : "closed";
}

}  // namespace

absl::string_view StatusCodeName(int code) {
  if (code < 0 || code >= kStatusCodeCount) return kStatusCodeNames[2];
  return kStatusCodeNames[code];
}

int64_t CallStats::calls() const {
  int64_t total = 0;
  for (const int64_t count : codes) total += count;
  return total;
}

void CallStats::Merge(const CallStats& other) {
  for (int code = 0; code < kStatusCodeCount; ++code) {
    codes[code] += other.codes[code];
  }
  latency.Merge(other.latency);
}

double LoadReport::qps() const {
  return elapsed_seconds > 0 ? all.calls() / elapsed_seconds : 0.0;
}

std::string FormatText(const LoadReport& report) {
  std::string out;
  absl::StrAppendFormat(&out, "Summary:\n");
  absl::StrAppendFormat(&out, "  Target:      %s\n", report.target);
  absl::StrAppendFormat(&out, "  Workload:    %s (seed %d)\n", report.workload,
                        report.seed);
  if (report.target_rps > 0) {
    absl::StrAppendFormat(
        &out,
        "  Mode:        open loop at %.1f calls/s, at most %d in flight, %d "
        "connection(s), %d thread(s)\n",
        report.target_rps, report.concurrency, report.connections,
        report.threads);
  } else {
    absl::StrAppendFormat(
        &out,
        "  Mode:        closed loop, %d calls in flight, %d connection(s), %d "
        "thread(s)\n",
        report.concurrency, report.connections, report.threads);
  }
  absl::StrAppendFormat(&out, "  Total:       %d calls in %.3f s\n",
                        report.all.calls(), report.elapsed_seconds);
  absl::StrAppendFormat(&out, "  Errors:      %d\n", report.all.errors());
  absl::StrAppendFormat(&out, "  QPS:         %.1f\n", report.qps());

  const Histogram& h = report.all.latency;
  absl::StrAppendFormat(&out, "\nLatency (ms, from intended send time):\n");
  absl::StrAppendFormat(&out, "  min     %10.3f\n", Millis(h.min()));
  for (const Quantile& q : kQuantiles) {
    absl::StrAppendFormat(&out, "  %-7s %10.3f\n", q.label,
                          Millis(h.ValueAtQuantile(q.q)));
  }
  absl::StrAppendFormat(&out, "  max     %10.3f\n", Millis(h.max()));
  absl::StrAppendFormat(&out, "  mean    %10.3f\n", h.mean() / 1e6);

  absl::StrAppendFormat(&out, "\nStatus codes:\n");
  for (int code = 0; code < kStatusCodeCount; ++code) {
    if (report.all.codes[code] == 0) continue;
    absl::StrAppendFormat(&out, "  %-20s %12d", kStatusCodeNames[code],
                          report.all.codes[code]);
    const auto message = report.error_messages.find(code);
    if (message != report.error_messages.end()) {
      absl::StrAppendFormat(&out, "   e.g. \"%s\"", message->second);
    }
    out += "\n";
  }

  if (!report.by_rpc.empty()) {
    absl::StrAppendFormat(&out, "\nBy RPC:\n  %-16s %10s %8s %10s %10s %10s\n",
                          "rpc", "calls", "errors", "p50 ms", "p99 ms",
                          "max ms");
    for (const auto& [rpc, stats] : report.by_rpc) {
      absl::StrAppendFormat(&out, "  %-16s %10d %8d %10.3f %10.3f %10.3f\n",
                            RpcName(rpc), stats.calls(), stats.errors(),
                            Millis(stats.latency.ValueAtQuantile(0.5)),
                            Millis(stats.latency.ValueAtQuantile(0.99)),
                            Millis(stats.latency.max()));
    }
  }
  return out;
}

std::string FormatJson(const LoadReport& report) {
  std::vector<std::string> fields = {
      absl::StrCat("\"target\": ", JsonString(report.target)),
      absl::StrCat("\"workload\": ", JsonString(report.workload)),
      absl::StrCat("\"mode\": ", JsonString(Mode(report))),
      absl::StrCat("\"target_rps\": ", JsonNumber(report.target_rps)),
      absl::StrCat("\"concurrency\": ", report.concurrency),
      absl::StrCat("\"connections\": ", report.connections),
      absl::StrCat("\"threads\": ", report.threads),
      absl::StrCat("\"seed\": ", report.seed),
      absl::StrCat("\"elapsed_seconds\": ", JsonNumber(report.elapsed_seconds)),
      absl::StrCat("\"total\": ", report.all.calls()),
      absl::StrCat("\"errors\": ", report.all.errors()),
      absl::StrCat("\"qps\": ", JsonNumber(report.qps())),
      absl::StrCat("\"status_codes\": ", CodesJson(report.all)),
      absl::StrCat("\"latency_ms\": ", LatencyJson(report.all.latency)),
  };
  std::vector<std::string> rpcs;
  for (const auto& [rpc, stats] : report.by_rpc) {
    rpcs.push_back(absl::StrCat(
        "\"", RpcName(rpc), "\": {\"total\": ", stats.calls(), ", \"errors\": ",
        stats.errors(), ", \"status_codes\": ", CodesJson(stats),
        ", \"latency_ms\": ", LatencyJson(stats.latency), "}"));
  }
  fields.push_back(absl::StrCat("\"rpcs\": {", absl::StrJoin(rpcs, ", "), "}"));
  std::vector<std::string> messages;
  for (const auto& [code, text] : report.error_messages) {
    messages.push_back(
        absl::StrCat("\"", StatusCodeName(code), "\": ", JsonString(text)));
  }
  fields.push_back(absl::StrCat("\"error_messages\": {",
                                absl::StrJoin(messages, ", "), "}"));
  return absl::StrCat("{", absl::StrJoin(fields, ",\n "), "}\n");
}

}  // namespace tutoring::bench
