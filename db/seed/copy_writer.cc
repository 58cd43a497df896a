#include "db/seed/copy_writer.h"

#include <array>
#include <charconv>
#include <cstring>

#include "absl/time/civil_time.h"

namespace tutoring::db {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Floor division for b > 0 (C++ division truncates toward zero).
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Writes `value` (>= 0) as exactly `width` digits ending before `end`.
void PutDigits(int64_t value, int width, char* end) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// For each byte, the character that follows the backslash of its escape,
// or 0 for a byte written as it is.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> escapes = {};
  escapes['\\'] = '\\';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\r'] = 'r';
  return escapes;
}();

}  // namespace

void CopyTextWriter::AddInt(int64_t value) {
  StartField();
  char digits[24];
  const char* const end =
      std::to_chars(digits, digits + sizeof(digits), value).ptr;
  text_.append(digits, static_cast<size_t>(end - digits));
}

void CopyTextWriter::AddBool(bool value) {
  StartField();
  text_.push_back(value ? 't' : 'f');
}

void CopyTextWriter::AddText(absl::string_view value) {
  StartField();
  const char* unwritten = value.data();
  const char* const end = value.data() + value.size();
  for (const char* p = unwritten; p != end; ++p) {
    const char escape = kEscapes[static_cast<unsigned char>(*p)];
    if (escape == 0) continue;
    text_.append(unwritten, static_cast<size_t>(p - unwritten));
    const char escaped[2] = {'\\', escape};
    text_.append(escaped, sizeof(escaped));
    unwritten = p + 1;
  }
  text_.append(unwritten, static_cast<size_t>(end - unwritten));
}

void CopyTextWriter::AddTimestamp(absl::Time value) {
  StartField();
  if (value == absl::InfiniteFuture()) {
    text_.append("infinity");
    return;
  }
  if (value == absl::InfinitePast()) {
    text_.append("-infinity");
    return;
  }
  const int64_t micros = absl::ToUnixMicros(value);
  const int64_t seconds = FloorDiv(micros, kMicrosPerSecond);
  const int64_t days = FloorDiv(seconds, kSecondsPerDay);
  const int64_t second_of_day = seconds - days * kSecondsPerDay;
  const absl::CivilDay date = DateOfDay(days);
  // PostgreSQL counts years before 1 as 1 BC, 2 BC, ...
  const bool bc = date.year() < 1;
  const int64_t year = bc ? 1 - date.year() : date.year();

  // Room for the longest text: a year of six digits (unix microseconds in
  // 64 bits reach about year 294,000), the rest, " BC".
  char text[64];
  char* p = text;
  if (year <= 9999) {
    PutDigits(year, 4, p + 4);
    p += 4;
  } else {
    p = std::to_chars(p, p + 24, year).ptr;
  }
  constexpr char kRest[] = "-MM-DD HH:MM:SS.ffffff+00";
  std::memcpy(p, kRest, sizeof(kRest) - 1);
  PutDigits(date.month(), 2, p + 3);
  PutDigits(date.day(), 2, p + 6);
  PutDigits(second_of_day / 3600, 2, p + 9);
  PutDigits(second_of_day / 60 % 60, 2, p + 12);
  PutDigits(second_of_day % 60, 2, p + 15);
  PutDigits(micros - seconds * kMicrosPerSecond, 6, p + 22);
  p += sizeof(kRest) - 1;
  if (bc) {
    std::memcpy(p, " BC", 3);
    p += 3;
  }
  text_.append(text, static_cast<size_t>(p - text));
}

absl::CivilDay CopyTextWriter::DateOfDay(int64_t days) {
  CachedDate& cached =
      date_cache_[static_cast<uint64_t>(days) % kDateCacheSize];
  if (cached.days != days) {
    cached.days = days;
    cached.date = absl::CivilDay(1970, 1, 1) + days;
  }
  return cached.date;
}

void CopyTextWriter::AddNull() {
  StartField();
  text_.append("\\N");
}

void CopyTextWriter::EndRow() {
  text_.push_back('\n');
  in_row_ = false;
}

}  // namespace tutoring::db
