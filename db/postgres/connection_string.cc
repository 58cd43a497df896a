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

bool IsUri(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") ||
         absl::StartsWith(url, "postgres://");
}

}  // namespace

absl::StatusOr<std::string> WithConnectionDefaults(
    absl::string_view url,
    const std::vector<std::pair<std::string, std::string>>& defaults) {
  absl::StatusOr<Conninfo> parsed = Parse(url);
  if (!parsed.ok()) return parsed.status();
  std::string result(url);
  bool uri_has_query = IsUri(url) && absl::StrContains(url, "?");
  for (const auto& [keyword, value] : defaults) {
    bool present = false;
    for (PQconninfoOption* o = parsed->get(); o->keyword != nullptr; ++o) {
      if (keyword == o->keyword && o->val != nullptr && *o->val != '\0') {
        present = true;
      }
    }
    if (present) continue;
    if (IsUri(url)) {
      absl::StrAppend(&result, uri_has_query ? "&" : "?", keyword, "=", value);
      uri_has_query = true;
    } else {
      absl::StrAppend(&result, " ", keyword, "=", value);
    }
  }
  return result;
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
