#include "server/time_zones.h"

#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/requests.h"

namespace tutoring::server {

absl::StatusOr<TimeZoneNames> TimeZoneNames::LoadFromFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read time zone list ", path,
                                            " (install the tzdata package)"));
  }
  absl::flat_hash_set<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() >= 2 && fields[0] == "Z") {
      names.insert(std::string(fields[1]));
    } else if (fields.size() >= 3 && fields[0] == "L") {
      names.insert(std::string(fields[2]));
    }
  }
  if (names.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("time zone list ", path, " names no zones"));
  }
  return TimeZoneNames(std::move(names));
}

absl::StatusOr<std::string> TimeZoneNames::Resolve(
    absl::string_view field, absl::string_view requested) const {
  if (requested.empty()) return std::string("UTC");
  if (names_.contains(requested)) return std::string(requested);
  return absl::InvalidArgumentError(absl::StrCat(
      field,
      " must be an IANA time zone name such as \"America/New_York\" "
      "or \"UTC\" (offsets and \"localtime\" are not accepted), got ",
      QuoteForMessage(requested)));
}

}  // namespace tutoring::server
