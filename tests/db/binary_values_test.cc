// PostgreSQL's binary wire format, read back: values built by hand as the
// server sends them, and malformed ones rejected.
#include "db/binary_values.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

using ::testing::ElementsAre;

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

TEST(BinaryValues, ReadsIntegersOfEverySign) {
  EXPECT_EQ(ReadInt8(BigEndian(1234567890123, 8)).value(), 1234567890123);
  EXPECT_EQ(ReadInt8(BigEndian(static_cast<uint64_t>(-5), 8)).value(), -5);
  EXPECT_EQ(ReadInt4(BigEndian(42, 4)).value(), 42);
  EXPECT_EQ(ReadInt4(BigEndian(static_cast<uint32_t>(-7), 4)).value(), -7);
}

TEST(BinaryValues, ReadsBooleans) {
  EXPECT_TRUE(ReadBool(std::string(1, '\1')).value());
  EXPECT_FALSE(ReadBool(std::string(1, '\0')).value());
}

TEST(BinaryValues, ReadsTimestampsFromPostgresEpoch) {
  // 2000-01-01T00:00:00.000001Z and one day before it.
  EXPECT_EQ(ReadTimestamptz(BigEndian(1, 8)).value(),
            absl::FromUnixMicros(946684800LL * 1000000 + 1));
  EXPECT_EQ(ReadTimestamptz(BigEndian(static_cast<uint64_t>(-86400000000LL), 8))
                .value(),
            absl::FromUnixSeconds(946684800 - 86400));
  EXPECT_EQ(ReadTimestamptz(BigEndian(0x7fffffffffffffffULL, 8)).value(),
            absl::InfiniteFuture());
}

TEST(BinaryValues, ReadsOneDimensionalInt4Arrays) {
  std::string array = BigEndian(1, 4) + BigEndian(0, 4) + BigEndian(23, 4) +
                      BigEndian(3, 4) + BigEndian(1, 4);
  for (int v : {20000, 20001, -3}) {
    array += BigEndian(4, 4) + BigEndian(static_cast<uint32_t>(v), 4);
  }
  EXPECT_THAT(ReadInt4Array(array).value(), ElementsAre(20000, 20001, -3));
  const std::string empty =
      BigEndian(0, 4) + BigEndian(0, 4) + BigEndian(23, 4);
  EXPECT_TRUE(ReadInt4Array(empty).value().empty());
}

TEST(BinaryValues, RejectsValuesOfTheWrongShape) {
  EXPECT_EQ(ReadInt8("1234").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReadInt4("").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReadBool("tt").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReadTimestamptz("x").status().code(), absl::StatusCode::kInternal);
  // An int8[] (element type 20), and an array cut short.
  std::string int8_array = BigEndian(1, 4) + BigEndian(0, 4) +
                           BigEndian(20, 4) + BigEndian(1, 4) +
                           BigEndian(1, 4) + BigEndian(8, 4) + BigEndian(1, 8);
  EXPECT_EQ(ReadInt4Array(int8_array).status().code(),
            absl::StatusCode::kInternal);
  std::string truncated = BigEndian(1, 4) + BigEndian(0, 4) + BigEndian(23, 4) +
                          BigEndian(2, 4) + BigEndian(1, 4) + BigEndian(4, 4);
  EXPECT_EQ(ReadInt4Array(truncated).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace tutoring::db
