#include "server/requests.h"

#include "absl/strings/str_cat.h"

namespace tutoring::server {
namespace {

// google.protobuf.Timestamp's documented range.
constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

absl::StatusOr<int> ResolvePageSize(int32_t page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be >= 0, got ", page_size));
  }
  if (page_size == 0) return kDefaultPageSize;
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}

absl::Status ValidateId(absl::string_view field, int64_t id) {
  if (id <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be > 0, got ", id));
  }
  return absl::OkStatus();
}

absl::StatusOr<db::UserRole> RequiredRole(absl::string_view field,
                                          v1::Role role) {
  switch (role) {
    case v1::ROLE_STUDENT:
      return db::UserRole::kStudent;
    case v1::ROLE_INSTRUCTOR:
      return db::UserRole::kInstructor;
    case v1::ROLE_ADMIN:
      return db::UserRole::kAdmin;
    case v1::ROLE_UNSPECIFIED:
      return absl::InvalidArgumentError(absl::StrCat(
          field, " is required: ROLE_STUDENT, ROLE_INSTRUCTOR or ROLE_ADMIN"));
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field,
                   " must be ROLE_STUDENT (1), ROLE_INSTRUCTOR (2) or "
                   "ROLE_ADMIN (3), got ",
                   static_cast<int>(role)));
}

absl::StatusOr<std::optional<db::UserRole>> OptionalRole(
    absl::string_view field, v1::Role role) {
  if (role == v1::ROLE_UNSPECIFIED) return std::nullopt;
  if (!v1::Role_IsValid(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     " must be ROLE_UNSPECIFIED (any), ROLE_STUDENT, "
                     "ROLE_INSTRUCTOR or ROLE_ADMIN, got ",
                     static_cast<int>(role)));
  }
  absl::StatusOr<db::UserRole> required = RequiredRole(field, role);
  if (!required.ok()) return required.status();
  return *required;
}

absl::StatusOr<db::Difficulty> RequiredDifficulty(absl::string_view field,
                                                  v1::Difficulty difficulty) {
  switch (difficulty) {
    case v1::DIFFICULTY_EASY:
      return db::Difficulty::kEasy;
    case v1::DIFFICULTY_MEDIUM:
      return db::Difficulty::kMedium;
    case v1::DIFFICULTY_HARD:
      return db::Difficulty::kHard;
    case v1::DIFFICULTY_UNSPECIFIED:
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       " is required: DIFFICULTY_EASY, DIFFICULTY_MEDIUM or "
                       "DIFFICULTY_HARD"));
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field,
                   " must be DIFFICULTY_EASY (1), DIFFICULTY_MEDIUM (2) or "
                   "DIFFICULTY_HARD (3), got ",
                   static_cast<int>(difficulty)));
}

absl::Status ValidateProgrammingLanguage(absl::string_view field,
                                         absl::string_view language) {
  if (language.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must not contain NUL characters"));
  }
  // Count code points: protobuf has already checked the string is UTF-8.
  int64_t code_points = 0;
  for (const char c : language) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;
  }
  if (code_points > kMaxProgrammingLanguageLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most ", kMaxProgrammingLanguageLength,
                     " characters, got ", code_points));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ResolveAsOf(absl::string_view field,
                                       const google::protobuf::Timestamp* as_of,
                                       absl::Time now) {
  if (as_of == nullptr) return now;
  if (as_of->seconds() < kMinTimestampSeconds ||
      as_of->seconds() > kMaxTimestampSeconds || as_of->nanos() < 0 ||
      as_of->nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        " must lie between 0001-01-01T00:00:00Z and "
        "9999-12-31T23:59:59.999999999Z with nanos in 0..999999999, got "
        "seconds=",
        as_of->seconds(), " nanos=", as_of->nanos()));
  }
  return absl::FromUnixSeconds(as_of->seconds()) +
         absl::Nanoseconds(as_of->nanos());
}

std::string QuoteForMessage(absl::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace tutoring::server
