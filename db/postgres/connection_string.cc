#include "db/postgres/connection_string.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace tutoring::db {
namespace {

struct ConninfoFree {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Conninfo = std::unique_ptr<PQconninfoOption, ConninfoFree>;

absl::StatusOr<Conninfo> Parse(absl::string_view url) {
  if (url.empty()) {
    return absl::InvalidArgumentError(
        "database URL is empty (set DATABASE_URL or --database-url)");
  }
  // libpq reads a C string: it would see the URL only up to the NUL, and
  // anything appended after it not at all.
  if (url.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "invalid database URL: it contains a NUL character");
  }
  char* error = nullptr;
  Conninfo options(PQconninfoParse(std::string(url).c_str(), &error));
  if (options == nullptr) {
    std::string reason =
        error != nullptr
            ? std::string(absl::StripTrailingAsciiWhitespace(error))
            : "out of memory";
    PQfreemem(error);
    return RedactConnectionString(absl::InvalidArgumentError(absl::StrCat(
                                      "invalid database URL: ", reason)),
                                  url);
  }
  return options;
}

// `value` as a quoted key/value conninfo value.
std::string QuoteValue(absl::string_view value) {
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  quoted.push_back('\'');
  return quoted;
}

}  // namespace

absl::StatusOr<std::string> WithConnectionDefaults(
    absl::string_view url,
    const std::vector<std::pair<std::string, std::string>>& defaults) {
  absl::StatusOr<Conninfo> parsed = Parse(url);
  if (!parsed.ok()) return parsed.status();
  // Rebuilt from libpq's own reading of `url` rather than edited as text:
  // text edits go wrong at the margins of either form (a URI query that is
  // empty, ends in "&", or whose "?" lies in the password; a key/value
  // string whose last value ends in a backslash, which escapes the space
  // after it).
  auto default_of = [&defaults](absl::string_view keyword) -> const
      std::string* {
        for (const auto& [name, value] : defaults) {
          if (name == keyword) return &value;
        }
        return nullptr;
      };
  std::vector<std::string> parts;
  for (PQconninfoOption* o = parsed->get(); o->keyword != nullptr; ++o) {
    // Unset is NULL. An explicit "" is kept (it stops libpq from falling
    // back to the environment) unless a default replaces it.
    if (o->val == nullptr) continue;
    absl::string_view value = o->val;
    if (const std::string* fallback = default_of(o->keyword);
        value.empty() && fallback != nullptr) {
      value = *fallback;
    }
    parts.push_back(absl::StrCat(o->keyword, "=", QuoteValue(value)));
  }
  for (const auto& [keyword, value] : defaults) {
    bool given = false;
    for (PQconninfoOption* o = parsed->get(); o->keyword != nullptr; ++o) {
      given = given || (o->val != nullptr && keyword == o->keyword);
    }
    if (!given) parts.push_back(absl::StrCat(keyword, "=", QuoteValue(value)));
  }
  return absl::StrJoin(parts, " ");
}

std::string DescribeConnectionString(absl::string_view url) {
  absl::StatusOr<Conninfo> parsed = Parse(url);
  if (!parsed.ok()) return "<invalid connection string>";
  std::vector<std::string> parts;
  for (PQconninfoOption* o = parsed->get(); o->keyword != nullptr; ++o) {
    const absl::string_view keyword = o->keyword;
    if (o->val == nullptr || *o->val == '\0') continue;
    if (keyword == "host" || keyword == "hostaddr" || keyword == "port" ||
        keyword == "dbname" || keyword == "user") {
      parts.push_back(absl::StrCat(keyword, "=", o->val));
    }
  }
  return parts.empty() ? "<libpq defaults>" : absl::StrJoin(parts, " ");
}

std::string ConnectTimeoutSeconds(absl::Duration timeout) {
  const int64_t seconds = std::max<int64_t>(
      2, absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1))));
  return absl::StrCat(seconds);
}

absl::Status RedactConnectionString(const absl::Status& status,
                                    absl::string_view url) {
  if (url.empty() || !absl::StrContains(status.message(), url)) return status;
  absl::Status redacted(
      status.code(),
      absl::StrReplaceAll(status.message(), {{url, "<database URL>"}}));
  status.ForEachPayload(
      [&redacted](absl::string_view type_url, const absl::Cord& payload) {
        redacted.SetPayload(type_url, payload);
      });
  return redacted;
}

}  // namespace tutoring::db
