#include "server/time_zones.h"

#include "gtest/gtest.h"

namespace tutoring::server {
namespace {

class TimeZoneNamesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TimeZoneNames> loaded =
        TimeZoneNames::LoadFromFile("/usr/share/zoneinfo/tzdata.zi");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    zones_ = new TimeZoneNames(*std::move(loaded));
  }
  static void TearDownTestSuite() {
    delete zones_;
    zones_ = nullptr;
  }
  static TimeZoneNames* zones_;
};

TimeZoneNames* TimeZoneNamesTest::zones_ = nullptr;

TEST_F(TimeZoneNamesTest, EmptyMeansUtc) {
  EXPECT_EQ(zones_->Resolve("time_zone", "").value(), "UTC");
}

TEST_F(TimeZoneNamesTest, AcceptsIanaZonesAndLinks) {
  for (const char* name : {"UTC", "America/New_York", "Asia/Kolkata",
                           "Pacific/Kiritimati", "Etc/GMT+5", "US/Eastern",
                           "Europe/Kyiv", "Asia/Kathmandu"}) {
    EXPECT_EQ(zones_->Resolve("time_zone", name).value(), name);
  }
}

TEST_F(TimeZoneNamesTest, RejectsOffsetsLocaltimeAndUnknownNames) {
  for (const char* name :
       {"+05:00", "-0800", "UTC+5", "UTC-03:00", "GMT+5:30", "localtime",
        "posixrules", "america/new_york", "America/New York", "Mars/Olympus",
        "EST5", "/etc/localtime", "../zoneinfo/UTC", "America/New_York\n",
        " UTC"}) {
    EXPECT_EQ(zones_->Resolve("time_zone", name).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST(TimeZoneNames, MissingFileIsAnError) {
  EXPECT_FALSE(TimeZoneNames::LoadFromFile("/nonexistent/tzdata.zi").ok());
}

}  // namespace
}  // namespace tutoring::server
