// Which time zone names requests may use: IANA zone and link names only.
#ifndef TUTORING_SERVER_TIME_ZONES_H_
#define TUTORING_SERVER_TIME_ZONES_H_

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {

// Immutable after loading; thread-safe.
class TimeZoneNames {
 public:
  // Reads the zone ("Z name ...") and link ("L target name") lines of a
  // tzdata.zi file (the tzdata package's complete list, e.g.
  // /usr/share/zoneinfo/tzdata.zi). NOT_FOUND / FAILED_PRECONDITION when it
  // is missing or lists no zones.
  static absl::StatusOr<TimeZoneNames> LoadFromFile(const std::string& path);

  // The zone to compute in: `requested`, or "UTC" when it is empty.
  // INVALID_ARGUMENT (naming `field`) for anything that is not an IANA name:
  // offsets such as "+05:00" or "UTC+5", "localtime", unknown names.
  absl::StatusOr<std::string> Resolve(absl::string_view field,
                                      absl::string_view requested) const;

  size_t size() const { return names_.size(); }

 private:
  explicit TimeZoneNames(absl::flat_hash_set<std::string> names)
      : names_(std::move(names)) {}

  absl::flat_hash_set<std::string> names_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_TIME_ZONES_H_
