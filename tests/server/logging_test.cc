#include "server/logging.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "common/json_escape.h"
#include "tests/support/fake_clock.h"

namespace tutoring::server {
namespace {

// Parses `escaped` as the inside of a JSON string with protobuf's JSON
// parser, an implementation independent of ours. (Into a Value, not a
// Struct: a map field read by TSan-instrumented code crashes against
// Debian's uninstrumented libprotobuf, see tests/bench/CMakeLists.txt.)
bool ParsesAsJsonString(const std::string& escaped, std::string* decoded) {
  google::protobuf::Value parsed;
  if (!google::protobuf::util::JsonStringToMessage("\"" + escaped + "\"",
                                                   &parsed)
           .ok() ||
      parsed.kind_case() != google::protobuf::Value::kStringValue) {
    return false;
  }
  *decoded = parsed.string_value();
  return true;
}

TEST(AppendJsonEscaped, RoundTripsValidUtf8WithQuotesAndControls) {
  const std::string text =
      "line one\nline \"two\"\t\\ back\r\x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac "
      "\xf0\x9f\x98\x80";
  std::string escaped;
  AppendJsonEscaped(text, escaped);
  EXPECT_EQ(escaped.find('\n'), std::string::npos);
  std::string decoded;
  ASSERT_TRUE(ParsesAsJsonString(escaped, &decoded)) << escaped;
  EXPECT_EQ(decoded, text);
}

TEST(AppendJsonEscaped, ReplacesBytesThatAreNotUtf8) {
  // A lone continuation byte, a truncated sequence, an overlong form, a
  // surrogate and a byte past U+10FFFF.
  for (const std::string bad :
       {"a\x80z", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80"}) {
    std::string escaped;
    AppendJsonEscaped(bad, escaped);
    std::string decoded;
    ASSERT_TRUE(ParsesAsJsonString(escaped, &decoded)) << escaped;
    EXPECT_NE(decoded.find("\xef\xbf\xbd"), std::string::npos) << escaped;
  }
}

TEST(AppendJsonEscaped, AnyBytesGiveOneParseableLine) {
  std::mt19937 random(20261202);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    std::string escaped;
    AppendJsonEscaped(bytes, escaped);
    EXPECT_EQ(escaped.find('\n'), std::string::npos);
    std::string decoded;
    EXPECT_TRUE(ParsesAsJsonString(escaped, &decoded)) << escaped;
  }
}

TEST(LogRateLimiter, AdmitsTheBurstThenTheRateAndCountsWhatItDropped) {
  testing::FakeClock clock;
  LogRateLimiter limiter(clock, /*per_second=*/2, /*burst=*/3);
  int64_t suppressed = -1;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Admit("db", &suppressed));
    EXPECT_EQ(suppressed, 0);
  }
  int refused = 0;
  for (int i = 0; i < 100; ++i) refused += limiter.Admit("db", &suppressed) ? 0 : 1;
  EXPECT_EQ(refused, 100);
  // Another kind has its own bucket.
  EXPECT_TRUE(limiter.Admit("grpc", &suppressed));
  clock.Advance(absl::Milliseconds(500));  // one token at 2 per second
  ASSERT_TRUE(limiter.Admit("db", &suppressed));
  EXPECT_EQ(suppressed, 100);
  EXPECT_FALSE(limiter.Admit("db", &suppressed));
  // Idle time refills up to the burst, not beyond.
  clock.Advance(absl::Hours(1));
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += limiter.Admit("db", &suppressed) ? 1 : 0;
  EXPECT_EQ(admitted, 3);
}

TEST(ParseLogFlags, AcceptsTheDocumentedValuesOnly) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("yaml").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseLogLevel("WARN"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tutoring::server
