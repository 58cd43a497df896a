#include "db/seed/copy_writer.h"

#include "absl/strings/str_cat.h"
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

bool NeedsEscape(char c) {
  return c == '\\' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

void CopyTextWriter::AddInt(int64_t value) {
  StartField();
  absl::StrAppend(&text_, value);
}

void CopyTextWriter::AddBool(bool value) {
  StartField();
  text_.push_back(value ? 't' : 'f');
}

void CopyTextWriter::AddText(absl::string_view value) {
  StartField();
  size_t clean = 0;  // bytes of `value` that need no escape
  while (clean < value.size() && !NeedsEscape(value[clean])) ++clean;
  text_.append(value.data(), clean);
  for (size_t i = clean; i < value.size(); ++i) {
    switch (value[i]) {
      case '\\':
        text_.append("\\\\");
        break;
      case '\t':
        text_.append("\\t");
        break;
      case '\n':
        text_.append("\\n");
        break;
      case '\r':
        text_.append("\\r");
        break;
      default:
        text_.push_back(value[i]);
    }
  }
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

  const absl::AlphaNum year_digits(year);
  if (year_digits.size() < 4) text_.append(4 - year_digits.size(), '0');
  text_.append(year_digits.data(), year_digits.size());
  char rest[] = "-MM-DD HH:MM:SS.ffffff+00";
  PutDigits(date.month(), 2, rest + 3);
  PutDigits(date.day(), 2, rest + 6);
  PutDigits(second_of_day / 3600, 2, rest + 9);
  PutDigits(second_of_day / 60 % 60, 2, rest + 12);
  PutDigits(second_of_day % 60, 2, rest + 15);
  PutDigits(micros - seconds * kMicrosPerSecond, 6, rest + 22);
  text_.append(rest, sizeof(rest) - 1);
  if (bc) text_.append(" BC");
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
