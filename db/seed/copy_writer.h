// Rows in PostgreSQL's COPY text format, the default format of
// COPY ... FROM STDIN (https://www.postgresql.org/docs/current/sql-copy.html):
// one line per row, fields separated by tabs, \N for NULL, and a backslash
// before each backslash, newline, carriage return and tab inside a value.
// The text can be sent to the server as it is, in chunks of whole rows.
#ifndef TUTORING_DB_SEED_COPY_WRITER_H_
#define TUTORING_DB_SEED_COPY_WRITER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tutoring::db {

// Appends fields and rows to a text buffer. Call the Add* functions for the
// fields of a row in column order, then EndRow(). Not thread-safe.
class CopyTextWriter {
 public:
  CopyTextWriter() = default;
  CopyTextWriter(const CopyTextWriter&) = delete;
  CopyTextWriter& operator=(const CopyTextWriter&) = delete;

  // Decimal, with a leading '-' for negative values.
  void AddInt(int64_t value);

  // "t" or "f".
  void AddBool(bool value);

  // `value` with backslash, tab, newline and carriage return escaped (\\, \t,
  // \n, \r); other bytes as they are. `value` must not contain NUL bytes,
  // which PostgreSQL text cannot hold.
  void AddText(absl::string_view value);

  // For a timestamptz column: the UTC time as "YYYY-MM-DD HH:MM:SS.ffffff+00",
  // always with six fractional digits (sub-microsecond parts are truncated
  // toward the past, as absl::ToUnixMicros does). Years below 1000 have
  // leading zeros ("0999-..."), years above 9999 more digits, and years
  // before 1 are written as PostgreSQL writes them: the proleptic Gregorian
  // year 0 is "0001-... BC". absl::InfiniteFuture() and InfinitePast() are
  // "infinity" and "-infinity". Times beyond what unix microseconds in 64
  // bits hold (about 292,000 years from 1970) saturate like
  // absl::ToUnixMicros.
  void AddTimestamp(absl::Time value);

  // \N.
  void AddNull();

  // Ends the current row (a row without fields is an empty line).
  void EndRow();

  // The rows written since construction or Clear(), each ending in '\n',
  // followed by the fields of an unfinished row, if any.
  const std::string& text() const { return text_; }
  size_t size() const { return text_.size(); }

  // Forgets the text, an unfinished row included, keeping the buffer's
  // capacity.
  void Clear() {
    text_.clear();
    in_row_ = false;
  }

  void Reserve(size_t bytes) { text_.reserve(bytes); }

 private:
  // Appends the tab before every field but a row's first.
  void StartField() {
    if (in_row_) text_.push_back('\t');
    in_row_ = true;
  }

  // The date of day `days` since 1970-01-01, from date_cache_ if there.
  absl::CivilDay DateOfDay(int64_t days);

  std::string text_;
  bool in_row_ = false;  // a field of the current row has been written

  // Dates of recently written days, by day number modulo the size: the rows
  // of one table mostly fall on a few hundred days, and absl's civil-day
  // arithmetic costs more than the rest of a timestamp (at 100,000 users,
  // 0.1 s of CPU time for 3M rows).
  struct CachedDate {
    int64_t days = INT64_MIN;  // no timestamp lies on this day
    absl::CivilDay date;
  };
  static constexpr size_t kDateCacheSize = 512;
  std::array<CachedDate, kDateCacheSize> date_cache_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_SEED_COPY_WRITER_H_
