// Connection strings, with libpq's own parser (PQconninfoParse) as the
// judge of what a string means.
#include "db/postgres/connection_string.h"

#include <libpq-fe.h>

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Settings = std::map<std::string, std::string>;

const std::vector<std::pair<std::string, std::string>> kDefaults = {
    {"connect_timeout", "5"}, {"application_name", "tutoring-test"}};

// The keywords libpq reads from `conninfo`, or nullopt when it refuses it.
std::optional<Settings> Read(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) return std::nullopt;
  Settings settings;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') settings[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return settings;
}

// WithConnectionDefaults(url, kDefaults), as libpq reads it.
Settings WithDefaults(const std::string& url) {
  absl::StatusOr<std::string> conninfo = WithConnectionDefaults(url, kDefaults);
  EXPECT_TRUE(conninfo.ok()) << conninfo.status();
  if (!conninfo.ok()) return {};
  std::optional<Settings> settings = Read(*conninfo);
  EXPECT_TRUE(settings.has_value()) << *conninfo;
  return settings.value_or(Settings());
}

TEST(WithConnectionDefaults, AddsDefaultsToAUri) {
  EXPECT_EQ(WithDefaults("postgresql://app:secret@db.internal:6432/tutoring"),
            (Settings{{"host", "db.internal"},
                      {"port", "6432"},
                      {"dbname", "tutoring"},
                      {"user", "app"},
                      {"password", "secret"},
                      {"connect_timeout", "5"},
                      {"application_name", "tutoring-test"}}));
}

TEST(WithConnectionDefaults, KeepsValuesTheUrlSets) {
  EXPECT_EQ(
      WithDefaults("host=/tmp dbname=tutoring connect_timeout=3 "
                   "application_name='my app'"),
      (Settings{{"host", "/tmp"},
                {"dbname", "tutoring"},
                {"connect_timeout", "3"},
                {"application_name", "my app"}}));
}

// Found by the connection string fuzzer: appended after a value ending in a
// backslash, " connect_timeout=5" became part of the password.
TEST(WithConnectionDefaults, KeyValueStringEndingInABackslash) {
  const Settings settings = WithDefaults("dbname=tutoring password=abc\\");
  EXPECT_EQ(settings.at("password"), "abc");
  EXPECT_EQ(settings.at("connect_timeout"), "5");
  EXPECT_EQ(settings.at("application_name"), "tutoring-test");
}

// Found by the connection string fuzzer: "?&connect_timeout=5" is refused
// by libpq (an empty parameter).
TEST(WithConnectionDefaults, UriWithAnEmptyQuery) {
  EXPECT_EQ(WithDefaults("postgresql://localhost/tutoring?"),
            (Settings{{"host", "localhost"},
                      {"dbname", "tutoring"},
                      {"connect_timeout", "5"},
                      {"application_name", "tutoring-test"}}));
  EXPECT_EQ(WithDefaults("postgresql://localhost/tutoring?sslmode=disable&")
                .at("connect_timeout"),
            "5");
}

// Found by the connection string fuzzer: a "?" before the "@" belongs to
// the user info, not to the query.
TEST(WithConnectionDefaults, UriWithAQuestionMarkInThePassword) {
  const Settings settings = WithDefaults("postgresql://app:pa?ss@localhost/db");
  EXPECT_EQ(settings.at("password"), "pa?ss");
  EXPECT_EQ(settings.at("connect_timeout"), "5");
}

TEST(WithConnectionDefaults, QuotesValuesThatNeedIt) {
  const Settings settings =
      WithDefaults("postgresql://app:it's%20a%5Csecret@localhost/db");
  EXPECT_EQ(settings.at("password"), "it's a\\secret");
}

TEST(WithConnectionDefaults, RejectsANulCharacter) {
  const std::string url("dbname=tutoring\0 host=evil", 26);
  EXPECT_EQ(WithConnectionDefaults(url, kDefaults).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WithConnectionDefaults, RejectsWhatLibpqRejectsWithoutQuotingTheUrl) {
  const std::string url = "postgresql://app:s3cret@localhost/db?nonsense=1";
  const absl::Status status = WithConnectionDefaults(url, kDefaults).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), Not(HasSubstr("s3cret")));
}

TEST(WithConnectionDefaults, RejectsAnEmptyUrl) {
  EXPECT_EQ(WithConnectionDefaults("", kDefaults).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DescribeConnectionString, ShowsWhereButNeverThePassword) {
  EXPECT_EQ(DescribeConnectionString(
                "postgresql://app:s3cret@127.0.0.1:5432/tutoring"),
            "user=app dbname=tutoring host=127.0.0.1 port=5432");
}

TEST(ConnectTimeoutSeconds, RoundsUpToAtLeastTwo) {
  EXPECT_EQ(ConnectTimeoutSeconds(absl::Milliseconds(100)), "2");
  EXPECT_EQ(ConnectTimeoutSeconds(absl::Milliseconds(2001)), "3");
  EXPECT_EQ(ConnectTimeoutSeconds(absl::Seconds(10)), "10");
}

}  // namespace
}  // namespace tutoring::db
