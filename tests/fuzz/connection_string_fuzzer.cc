// libFuzzer target: connection strings (db/postgres/connection_string.h).
// The input is a database URL (URI or key=value form). Held for every input,
// against libpq's own parser (PQconninfoParse) as the ground truth:
// - WithConnectionDefaults accepts exactly what libpq accepts (and no URL
//   with a NUL character, which libpq would cut short); its error is
//   INVALID_ARGUMENT and never quotes the URL whole;
// - the string it returns parses, keeps every value the URL set, and sets
//   each default it was given where the URL had none;
// - DescribeConnectionString shows host, hostaddr, port, dbname and user as
//   libpq reads them, and nothing else (never the password);
// - ConnectTimeoutSeconds (for a duration taken from the input) is a whole
//   number >= 2 that covers the duration, rounded up to the second.
// The seed corpus holds real DSNs and URIs: sockets, IPv6, several hosts,
// percent-encoding, quoting and escapes, options, and malformed ones.
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/postgres/connection_string.h"

namespace tutoring::db {
namespace {

[[noreturn]] void Fail(absl::string_view what, absl::string_view url) {
  std::cerr << "connection_string_fuzzer: " << what << " (URL of "
            << url.size() << " bytes)\n";
  std::abort();
}

void Check(bool condition, absl::string_view what, absl::string_view url) {
  if (!condition) Fail(what, url);
}

// libpq's reading of `url`: keyword -> value for every keyword set, or
// nullopt when libpq rejects it.
std::optional<std::map<std::string, std::string>> LibpqParse(
    const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) return std::nullopt;
  std::map<std::string, std::string> values;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return values;
}

void CheckDefaults(absl::string_view url) {
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"connect_timeout", "5"}, {"application_name", "tutoring-fuzz"}};
  const absl::StatusOr<std::string> with_defaults =
      WithConnectionDefaults(url, defaults);
  if (url.find('\0') != absl::string_view::npos) {
    // libpq would read the URL only up to the NUL.
    Check(with_defaults.status().code() == absl::StatusCode::kInvalidArgument,
          "a URL with a NUL character was not INVALID_ARGUMENT", url);
    return;
  }
  const std::optional<std::map<std::string, std::string>> truth =
      url.empty() ? std::nullopt : LibpqParse(std::string(url));

  if (!truth.has_value()) {
    Check(!with_defaults.ok(), "accepted a URL libpq rejects", url);
    Check(with_defaults.status().code() == absl::StatusCode::kInvalidArgument,
          "a bad URL gave another code than INVALID_ARGUMENT", url);
    Check(url.size() < 16 ||
              !absl::StrContains(with_defaults.status().message(), url),
          "the error message quotes the URL", url);
    return;
  }
  Check(with_defaults.ok(), "rejected a URL libpq accepts", url);
  const std::optional<std::map<std::string, std::string>> result =
      LibpqParse(*with_defaults);
  Check(result.has_value(), "the URL with defaults does not parse", url);
  for (const auto& [keyword, value] : *truth) {
    const auto it = result->find(keyword);
    Check(it != result->end() && it->second == value,
          "adding defaults changed a value the URL set", url);
  }
  for (const auto& [keyword, value] : defaults) {
    if (truth->count(keyword) > 0) continue;
    const auto it = result->find(keyword);
    Check(it != result->end() && it->second == value,
          "a default was not applied", url);
  }
  for (const auto& [keyword, value] : *result) {
    bool defaulted = false;
    for (const auto& d : defaults) defaulted = defaulted || d.first == keyword;
    Check(defaulted || truth->count(keyword) > 0,
          "adding defaults set a keyword that was neither given nor a default",
          url);
  }

  // What the loggable form must be: libpq's host, hostaddr, port, dbname
  // and user, in libpq's order, and nothing else (never the password).
  std::string expected;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &error);
  PQfreemem(error);
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const absl::string_view keyword = o->keyword;
    if (o->val == nullptr || *o->val == '\0') continue;
    if (keyword == "host" || keyword == "hostaddr" || keyword == "port" ||
        keyword == "dbname" || keyword == "user") {
      absl::StrAppend(&expected, expected.empty() ? "" : " ", keyword, "=",
                      o->val);
    }
  }
  PQconninfoFree(options);
  Check(DescribeConnectionString(url) ==
            (expected.empty() ? "<libpq defaults>" : expected),
        "DescribeConnectionString shows other than host, port, dbname, user",
        url);
}

void CheckConnectTimeout(absl::string_view input) {
  int64_t nanos = 0;
  for (size_t i = 0; i < 8 && i < input.size(); ++i) {
    nanos = static_cast<int64_t>((static_cast<uint64_t>(nanos) << 8) |
                                 static_cast<uint8_t>(input[i]));
  }
  const absl::Duration timeout = absl::Nanoseconds(nanos);
  const std::string text = ConnectTimeoutSeconds(timeout);
  int64_t seconds = 0;
  Check(absl::SimpleAtoi(text, &seconds), "connect_timeout is not a number",
        input);
  Check(seconds >= 2, "connect_timeout below 2", input);
  Check(absl::Seconds(seconds) >= timeout, "connect_timeout too short", input);
  Check(seconds == 2 || absl::Seconds(seconds - 1) < timeout,
        "connect_timeout not rounded up to the next second", input);
}

}  // namespace
}  // namespace tutoring::db

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view url(reinterpret_cast<const char*>(data), size);
  tutoring::db::CheckDefaults(url);
  tutoring::db::CheckConnectTimeout(url);
  return 0;
}
