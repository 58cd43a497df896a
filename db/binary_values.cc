#include "db/binary_values.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tutoring::db {
namespace {

// PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, in Unix microseconds.
constexpr int64_t kPostgresEpochUnixMicros = 946684800LL * 1000000;
// The OID of int4, as an array's element type says it.
constexpr uint32_t kInt4Oid = 23;

uint64_t BigEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

absl::Status WrongLength(absl::string_view type, size_t length) {
  return absl::InternalError(
      absl::StrCat("database returned a ", length, "-byte value for ", type));
}

}  // namespace

absl::StatusOr<int64_t> ReadInt8(absl::string_view value) {
  if (value.size() != 8) return WrongLength("int8", value.size());
  return static_cast<int64_t>(BigEndian(value.data(), 8));
}

absl::StatusOr<int32_t> ReadInt4(absl::string_view value) {
  if (value.size() != 4) return WrongLength("int4", value.size());
  return static_cast<int32_t>(
      static_cast<uint32_t>(BigEndian(value.data(), 4)));
}

absl::StatusOr<bool> ReadBool(absl::string_view value) {
  if (value.size() != 1) return WrongLength("bool", value.size());
  return value[0] != 0;
}

absl::StatusOr<absl::Time> ReadTimestamptz(absl::string_view value) {
  if (value.size() != 8) return WrongLength("timestamptz", value.size());
  const int64_t micros = static_cast<int64_t>(BigEndian(value.data(), 8));
  if (micros == std::numeric_limits<int64_t>::max()) {
    return absl::InfiniteFuture();
  }
  if (micros == std::numeric_limits<int64_t>::min()) {
    return absl::InfinitePast();
  }
  return absl::FromUnixMicros(micros + kPostgresEpochUnixMicros);
}

absl::StatusOr<std::vector<int32_t>> ReadInt4Array(absl::string_view value) {
  // ndim, has-null flag, element type; per dimension size and lower bound;
  // then (length, bytes) per element.
  if (value.size() < 12) return WrongLength("int4[]", value.size());
  const char* p = value.data();
  const uint32_t ndim = static_cast<uint32_t>(BigEndian(p, 4));
  const uint32_t has_null = static_cast<uint32_t>(BigEndian(p + 4, 4));
  const uint32_t element_type = static_cast<uint32_t>(BigEndian(p + 8, 4));
  std::vector<int32_t> result;
  if (ndim == 0) return result;
  if (ndim != 1 || has_null != 0 || element_type != kInt4Oid ||
      value.size() < 20) {
    return absl::InternalError(
        "database returned an array that is not a one-dimensional int4[] "
        "without NULLs");
  }
  const uint32_t count = static_cast<uint32_t>(BigEndian(p + 12, 4));
  if (value.size() != 20 + static_cast<size_t>(count) * 8) {
    return WrongLength("int4[]", value.size());
  }
  result.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const char* element = p + 20 + static_cast<size_t>(i) * 8;
    if (BigEndian(element, 4) != 4) {
      return absl::InternalError(
          "database returned an int4[] element of the "
          "wrong length");
    }
    result.push_back(
        static_cast<int32_t>(static_cast<uint32_t>(BigEndian(element + 4, 4))));
  }
  return result;
}

}  // namespace tutoring::db
