#include "bench/loadgen/load_report.h"

#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace tutoring::bench {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Struct ParseJson(const std::string& json) {
  Struct parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

const Value& Field(const Struct& object, const std::string& key) {
  static const Value kMissing;
  const auto it = object.fields().find(key);
  EXPECT_NE(it, object.fields().end()) << "missing " << key;
  return it == object.fields().end() ? kMissing : it->second;
}

LoadReport SampleReport() {
  LoadReport report;
  report.target = "127.0.0.1:50051";
  report.workload = "GetUserRole:3,GetStreak:1";
  report.concurrency = 64;
  report.connections = 2;
  report.threads = 1;
  report.seed = 9;
  report.elapsed_seconds = 2.0;
  CallStats roles;
  roles.codes[0] = 90;  // OK
  roles.codes[5] = 10;  // NOT_FOUND
  for (int i = 1; i <= 100; ++i) roles.latency.Record(i * 1'000'000);
  CallStats streaks;
  streaks.codes[3] = 20;  // INVALID_ARGUMENT
  for (int i = 0; i < 20; ++i) streaks.latency.Record(500'000);
  report.all.Merge(roles);
  report.all.Merge(streaks);
  report.by_rpc = {{Rpc::kGetUserRole, roles}, {Rpc::kGetStreak, streaks}};
  report.error_messages[3] =
      "time_zone \"Mars/Olympus\" is not\nan IANA \\ name";
  report.error_messages[5] = "user 12 not found";
  return report;
}

TEST(StatusCodeName, NamesEveryCanonicalCode) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(StatusCodeName(14), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(17), "UNKNOWN");
  EXPECT_EQ(StatusCodeName(-1), "UNKNOWN");
}

TEST(CallStats, CountsCallsAndErrors) {
  const LoadReport report = SampleReport();
  EXPECT_EQ(report.all.calls(), 120);
  EXPECT_EQ(report.all.errors(), 30);
  EXPECT_EQ(report.all.latency.count(), 120);
  EXPECT_DOUBLE_EQ(report.qps(), 60.0);
}

TEST(FormatJson, CarriesTotalsCodesAndLatency) {
  const Struct json = ParseJson(FormatJson(SampleReport()));
  EXPECT_EQ(Field(json, "target").string_value(), "127.0.0.1:50051");
  EXPECT_EQ(Field(json, "workload").string_value(),
            "GetUserRole:3,GetStreak:1");
  EXPECT_EQ(Field(json, "mode").string_value(), "closed");
  EXPECT_EQ(Field(json, "concurrency").number_value(), 64);
  EXPECT_EQ(Field(json, "connections").number_value(), 2);
  EXPECT_EQ(Field(json, "seed").number_value(), 9);
  EXPECT_EQ(Field(json, "total").number_value(), 120);
  EXPECT_EQ(Field(json, "errors").number_value(), 30);
  EXPECT_DOUBLE_EQ(Field(json, "qps").number_value(), 60.0);

  const Struct& codes = Field(json, "status_codes").struct_value();
  EXPECT_EQ(codes.fields_size(), 3);
  EXPECT_EQ(Field(codes, "OK").number_value(), 90);
  EXPECT_EQ(Field(codes, "NOT_FOUND").number_value(), 10);
  EXPECT_EQ(Field(codes, "INVALID_ARGUMENT").number_value(), 20);

  const Struct& latency = Field(json, "latency_ms").struct_value();
  EXPECT_DOUBLE_EQ(Field(latency, "min").number_value(), 0.5);
  EXPECT_DOUBLE_EQ(Field(latency, "max").number_value(), 100.0);
  double previous = 0;
  for (const char* key : {"min", "p50", "p90", "p99", "p99_9", "max"}) {
    const double value = Field(latency, key).number_value();
    EXPECT_GE(value, previous) << key;
    previous = value;
  }
}

TEST(FormatJson, BreaksDownByRpc) {
  const Struct json = ParseJson(FormatJson(SampleReport()));
  const Struct& rpcs = Field(json, "rpcs").struct_value();
  EXPECT_EQ(rpcs.fields_size(), 2);
  const Struct& roles = Field(rpcs, "GetUserRole").struct_value();
  EXPECT_EQ(Field(roles, "total").number_value(), 100);
  EXPECT_EQ(Field(roles, "errors").number_value(), 10);
  EXPECT_EQ(Field(Field(roles, "status_codes").struct_value(), "NOT_FOUND")
                .number_value(),
            10);
  // Ranks 50 and 99 of 1..100 ms, within the histogram's 0.4%.
  const Struct& latency = Field(roles, "latency_ms").struct_value();
  EXPECT_NEAR(Field(latency, "p50").number_value(), 50.0, 0.2);
  EXPECT_NEAR(Field(latency, "p99").number_value(), 99.0, 0.4);
  const Struct& streaks = Field(rpcs, "GetStreak").struct_value();
  EXPECT_EQ(Field(streaks, "errors").number_value(), 20);
}

TEST(FormatJson, EscapesErrorMessages) {
  const LoadReport report = SampleReport();
  const Struct json = ParseJson(FormatJson(report));
  const Struct& messages = Field(json, "error_messages").struct_value();
  EXPECT_EQ(Field(messages, "INVALID_ARGUMENT").string_value(),
            report.error_messages.at(3));
  EXPECT_EQ(Field(messages, "NOT_FOUND").string_value(), "user 12 not found");
}

TEST(FormatJson, OpenLoopAndEmptyRunsStayValid) {
  LoadReport report;
  report.target_rps = 250;
  const Struct json = ParseJson(FormatJson(report));
  EXPECT_EQ(Field(json, "mode").string_value(), "open");
  EXPECT_EQ(Field(json, "target_rps").number_value(), 250);
  EXPECT_EQ(Field(json, "total").number_value(), 0);
  EXPECT_EQ(Field(json, "qps").number_value(), 0);
  EXPECT_EQ(Field(json, "status_codes").struct_value().fields_size(), 0);
}

TEST(FormatText, ListsEveryStatusCodeWithItsCount) {
  const std::string text = FormatText(SampleReport());
  EXPECT_TRUE(absl::StrContains(text, "Total:       120 calls"));
  EXPECT_TRUE(absl::StrContains(text, "Errors:      30"));
  EXPECT_TRUE(absl::StrContains(text, "QPS:         60.0"));
  for (const char* line : {"OK                             90",
                           "INVALID_ARGUMENT               20",
                           "NOT_FOUND                      10"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
  EXPECT_TRUE(absl::StrContains(text, "GetUserRole")) << text;
  EXPECT_TRUE(absl::StrContains(text, "GetStreak")) << text;
}

}  // namespace
}  // namespace tutoring::bench
