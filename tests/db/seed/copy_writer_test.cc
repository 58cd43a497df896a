// CopyTextWriter (db/seed/copy_writer.h): PostgreSQL's COPY text format.
// Expected texts follow the COPY documentation and what PostgreSQL 15 prints
// for the same values; timestamps are also checked against absl::FormatTime.
#include "db/seed/copy_writer.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

// The text of one row holding `value`, without the final newline.
std::string TextField(absl::string_view value) {
  CopyTextWriter writer;
  writer.AddText(value);
  return writer.text();
}

std::string TimestampField(absl::Time value) {
  CopyTextWriter writer;
  writer.AddTimestamp(value);
  return writer.text();
}

absl::Time Utc(absl::CivilSecond second, int64_t micros = 0) {
  return absl::FromCivil(second, absl::UTCTimeZone()) +
         absl::Microseconds(micros);
}

TEST(CopyTextWriter, SeparatesFieldsWithTabsAndEndsEachRowWithANewline) {
  CopyTextWriter writer;
  writer.AddInt(1);
  writer.AddText("a");
  writer.AddBool(true);
  writer.EndRow();
  writer.AddInt(2);
  writer.EndRow();
  EXPECT_EQ(writer.text(), "1\ta\tt\n2\n");
  EXPECT_EQ(writer.size(), writer.text().size());
}

TEST(CopyTextWriter, EscapesBackslashTabNewlineAndCarriageReturn) {
  EXPECT_EQ(TextField("a\\b"), "a\\\\b");
  EXPECT_EQ(TextField("a\tb"), "a\\tb");
  EXPECT_EQ(TextField("a\nb"), "a\\nb");
  EXPECT_EQ(TextField("a\rb"), "a\\rb");
  EXPECT_EQ(TextField("\\\t\n\r"), "\\\\\\t\\n\\r");
  EXPECT_EQ(TextField("\r\n"), "\\r\\n");
}

TEST(CopyTextWriter, EscapedBackslashesCannotBeReadAsNullOrEndOfData) {
  // Literal "\N" and "\." are text, not NULL or the end-of-data marker.
  EXPECT_EQ(TextField("\\N"), "\\\\N");
  EXPECT_EQ(TextField("\\."), "\\\\.");
}

TEST(CopyTextWriter, LeavesOtherBytesAsTheyAre) {
  EXPECT_EQ(TextField(""), "");
  EXPECT_EQ(TextField("Two sum #12"), "Two sum #12");
  EXPECT_EQ(TextField("Zoë \xE2\x9C\x93 'q' \"d\" \b\f\v|,;"),
            "Zoë \xE2\x9C\x93 'q' \"d\" \b\f\v|,;");
}

TEST(CopyTextWriter, WritesNullAsBackslashN) {
  CopyTextWriter writer;
  writer.AddNull();
  writer.AddText("");
  writer.AddNull();
  writer.EndRow();
  EXPECT_EQ(writer.text(), "\\N\t\t\\N\n");
}

TEST(CopyTextWriter, WritesIntegersInDecimal) {
  CopyTextWriter writer;
  writer.AddInt(0);
  writer.AddInt(-1);
  writer.AddInt(1234567890123);
  writer.AddInt(std::numeric_limits<int64_t>::max());
  writer.AddInt(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(writer.text(),
            "0\t-1\t1234567890123\t9223372036854775807\t-9223372036854775808");
}

TEST(CopyTextWriter, WritesBooleansAsTAndF) {
  CopyTextWriter writer;
  writer.AddBool(true);
  writer.AddBool(false);
  EXPECT_EQ(writer.text(), "t\tf");
}

TEST(CopyTextWriter, TimestampsAreUtcWithSixFractionalDigits) {
  EXPECT_EQ(TimestampField(absl::UnixEpoch()), "1970-01-01 00:00:00.000000+00");
  EXPECT_EQ(
      TimestampField(Utc(absl::CivilSecond(2026, 11, 1, 23, 59, 59), 999999)),
      "2026-11-01 23:59:59.999999+00");
  EXPECT_EQ(TimestampField(Utc(absl::CivilSecond(2024, 2, 29, 7, 5, 3), 42)),
            "2024-02-29 07:05:03.000042+00");
  // The zone an absl::Time was made in does not matter.
  absl::TimeZone new_york;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &new_york));
  EXPECT_EQ(TimestampField(absl::FromCivil(
                absl::CivilSecond(2026, 3, 8, 3, 0, 0), new_york)),
            "2026-03-08 07:00:00.000000+00");
}

TEST(CopyTextWriter, TimestampsBeforeTheEpochCountDownFromTheNextSecond) {
  EXPECT_EQ(TimestampField(absl::FromUnixMicros(-1)),
            "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(TimestampField(absl::FromUnixMicros(-1'500'000)),
            "1969-12-31 23:59:58.500000+00");
}

TEST(CopyTextWriter, TimestampsTruncateSubMicrosecondsTowardThePast) {
  EXPECT_EQ(TimestampField(absl::FromUnixNanos(1999)),
            "1970-01-01 00:00:00.000001+00");
  EXPECT_EQ(TimestampField(absl::FromUnixNanos(-1)),
            "1969-12-31 23:59:59.999999+00");
}

TEST(CopyTextWriter, YearsBelow1000HaveLeadingZeros) {
  EXPECT_EQ(
      TimestampField(Utc(absl::CivilSecond(999, 12, 31, 23, 59, 59), 123456)),
      "0999-12-31 23:59:59.123456+00");
  EXPECT_EQ(TimestampField(Utc(absl::CivilSecond(42, 6, 1, 12, 0, 0))),
            "0042-06-01 12:00:00.000000+00");
  EXPECT_EQ(TimestampField(Utc(absl::CivilSecond(1, 1, 1, 0, 0, 0))),
            "0001-01-01 00:00:00.000000+00");
}

TEST(CopyTextWriter, YearsAbove9999HaveMoreDigits) {
  EXPECT_EQ(TimestampField(Utc(absl::CivilSecond(10000, 1, 1, 0, 0, 0))),
            "10000-01-01 00:00:00.000000+00");
}

TEST(CopyTextWriter, YearsBeforeOneAreWrittenAsBcYears) {
  // PostgreSQL has no year 0: the proleptic Gregorian year 0 is 1 BC.
  EXPECT_EQ(
      TimestampField(Utc(absl::CivilSecond(0, 12, 31, 23, 59, 59), 500000)),
      "0001-12-31 23:59:59.500000+00 BC");
  EXPECT_EQ(TimestampField(Utc(absl::CivilSecond(-43, 3, 15, 0, 0, 0))),
            "0044-03-15 00:00:00.000000+00 BC");
}

TEST(CopyTextWriter, InfiniteTimesAreInfinity) {
  EXPECT_EQ(TimestampField(absl::InfiniteFuture()), "infinity");
  EXPECT_EQ(TimestampField(absl::InfinitePast()), "-infinity");
}

TEST(CopyTextWriter, TimestampsAgreeWithAbslFormatTimeOverCenturies) {
  // Steps of a prime number of seconds visit every time of day and, over
  // 1600..2400, days that share a slot of the writer's date cache, in both
  // directions.
  const absl::Time first = Utc(absl::CivilSecond(1600, 1, 1, 0, 0, 0));
  const absl::Time last = Utc(absl::CivilSecond(2400, 12, 31, 0, 0, 0));
  const absl::Duration step = absl::Seconds(1'000'003) + absl::Microseconds(7);
  CopyTextWriter writer;
  int checked = 0;
  for (absl::Time t = first; t < last; t += step) {
    for (const absl::Time value : {t, last - (t - first)}) {
      writer.Clear();
      writer.AddTimestamp(value);
      ASSERT_EQ(writer.text(), absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", value,
                                                absl::UTCTimeZone()));
      ++checked;
    }
  }
  EXPECT_GT(checked, 40'000);
}

TEST(CopyTextWriter, ClearForgetsAnUnfinishedRow) {
  CopyTextWriter writer;
  writer.AddInt(1);
  writer.EndRow();
  writer.AddInt(2);
  writer.Clear();
  EXPECT_EQ(writer.text(), "");
  writer.AddInt(3);
  writer.EndRow();
  EXPECT_EQ(writer.text(), "3\n");
}

}  // namespace
}  // namespace tutoring::db
