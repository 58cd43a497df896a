// Streaks against an independent oracle: raw rows from SQL, dates computed
// with absl's time zone library (the server uses PostgreSQL's), the rules
// written out again here. Seeded users in four zones at two instants, and
// hand-built users for the edge cases.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/e2e/streak_oracle.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

absl::StatusOr<v1::Streak> GetStreak(ServerHarness& harness, int64_t user_id,
                                     const std::string& zone, absl::Time as_of) {
  v1::GetStreakRequest request;
  request.set_user_id(user_id);
  request.set_time_zone(zone);
  *request.mutable_as_of() = ToTimestamp(as_of);
  v1::Streak response;
  auto context = ContextWithDeadline();
  const grpc::Status status =
      harness.stub().GetStreak(context.get(), request, &response);
  if (!status.ok()) return absl::UnknownError(status.error_message());
  return response;
}

const std::vector<std::string> kZones = {"UTC", "America/New_York",
                                         "Asia/Kolkata", "Pacific/Kiritimati"};

TEST(StreakOracleTest, SeededUsersMatchTheOracleInFourZonesAtTwoInstants) {
  auto harness = ServerHarness::Start(E2eDatabaseUrl());
  ASSERT_NE(harness, nullptr);
  pqxx::connection connection(E2eDatabaseUrl());
  std::vector<int64_t> ids;
  absl::Time latest;
  {
    pqxx::nontransaction tx(connection);
    for (const pqxx::row& row :
         tx.exec("SELECT id FROM users WHERE id % 173 = 5 ORDER BY id")) {
      ids.push_back(row[0].as<int64_t>());
    }
    latest = absl::FromUnixMicros(
        tx.exec1("SELECT (extract(epoch FROM max(created_at)) * 1000000)::int8 "
                 "FROM user_exercises")[0]
            .as<int64_t>());
  }
  ASSERT_GE(ids.size(), 500u);
  const std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  const std::map<int64_t, std::vector<RawRow>> rows =
      LoadRows(connection, id_array);

  // Just after the last activity, and 60 days earlier at 03:59:30 UTC,
  // which is 23:59:30 of the previous day in New York (summer time, the
  // seeded window lies in it), 09:29:30 in Kolkata and 17:59:30 in
  // Kiritimati: local-midnight boundaries land differently per zone.
  const absl::CivilDay latest_day = absl::ToCivilDay(latest, absl::UTCTimeZone());
  const std::vector<absl::Time> instants = {
      latest + absl::Hours(1),
      absl::FromCivil(absl::CivilSecond(latest_day - 60) + 3 * 3600 + 59 * 60 + 30,
                      absl::UTCTimeZone())};

  int nonzero_current = 0, compared = 0;
  for (const absl::Time as_of : instants) {
    for (const std::string& zone : kZones) {
      // One call per user...
      for (const int64_t id : ids) {
        const auto it = rows.find(id);
        const Expected want =
            Oracle(it == rows.end() ? std::vector<RawRow>{} : it->second, zone,
                   as_of);
        absl::StatusOr<v1::Streak> got = GetStreak(*harness, id, zone, as_of);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(got->user_id(), id);
        EXPECT_EQ(FromProto(*got), want)
            << "user " << id << " zone " << zone << " as_of " << as_of;
        if (want.current_days > 0) ++nonzero_current;
        ++compared;
      }
      // ...and the same users in one batch (with a duplicate), in order.
      v1::BatchGetStreaksRequest request;
      for (const int64_t id : ids) request.add_user_ids(id);
      request.add_user_ids(ids.front());
      request.set_time_zone(zone);
      *request.mutable_as_of() = ToTimestamp(as_of);
      v1::BatchGetStreaksResponse response;
      auto context = ContextWithDeadline();
      ASSERT_TRUE(harness->stub()
                      .BatchGetStreaks(context.get(), request, &response)
                      .ok());
      ASSERT_EQ(response.streaks_size(), request.user_ids_size());
      for (int i = 0; i < request.user_ids_size(); ++i) {
        const int64_t id = request.user_ids(i);
        const auto it = rows.find(id);
        EXPECT_EQ(response.streaks(i).user_id(), id);
        EXPECT_EQ(FromProto(response.streaks(i)),
                  Oracle(it == rows.end() ? std::vector<RawRow>{} : it->second,
                         zone, as_of))
            << "batch position " << i;
      }
    }
  }
  EXPECT_EQ(compared, static_cast<int>(ids.size() * instants.size() * kZones.size()));
  // The data must exercise the rules, not only zeros.
  EXPECT_GT(nonzero_current, compared / 20);
}

// Hand-built users, one per edge case, each checked against the oracle and
// against the property the case is built for.
class HandBuiltStreakTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        CreateMigratedDatabase("streaks");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    harness_ = ServerHarness::Start(db_->url()).release();
    ASSERT_NE(harness_, nullptr);
    connection_ = new pqxx::connection(db_->url());
    pqxx::nontransaction tx(*connection_);
    tx.exec0(
        "INSERT INTO exercises (id, title, difficulty, programming_language) "
        "VALUES (1, 'Hello', 'easy', 'python')");
  }
  static void TearDownTestSuite() {
    delete connection_;
    delete harness_;
    delete db_;
  }

  // A new user with rows (UTC instant, status).
  static int64_t User(const std::vector<std::pair<absl::Time, std::string>>& rows) {
    pqxx::work tx(*connection_);
    const int64_t id =
        tx.exec_params1(
              "INSERT INTO users (email, display_name) VALUES ($1, 'Hand') "
              "RETURNING id",
              absl::StrCat("hand", next_email_++, "@example.test"))[0]
            .as<int64_t>();
    for (const auto& [at, status] : rows) {
      tx.exec_params0(
          "INSERT INTO user_exercises (user_id, exercise_id, status, created_at)"
          " VALUES ($1, 1, $2::exercise_status,"
          " to_timestamp($3::float8 / 1000000))",
          id, status, absl::ToUnixMicros(at));
    }
    tx.commit();
    return id;
  }

  // The server's answer, after checking it against the oracle.
  static Expected Check(int64_t id, const std::string& zone, absl::Time as_of) {
    std::vector<RawRow> rows;
    pqxx::nontransaction tx(*connection_);
    for (const pqxx::row& row : tx.exec_params(
             "SELECT (extract(epoch FROM created_at) * 1000000)::int8,"
             " status::text FROM user_exercises WHERE user_id = $1",
             id)) {
      rows.push_back({absl::FromUnixMicros(row[0].as<int64_t>()), row[1].c_str()});
    }
    absl::StatusOr<v1::Streak> got = GetStreak(*harness_, id, zone, as_of);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return {};
    const Expected answer = FromProto(*got);
    EXPECT_EQ(answer, Oracle(rows, zone, as_of)) << "user " << id << " " << zone;
    return answer;
  }

  static absl::Time At(const std::string& zone, absl::CivilSecond local) {
    absl::TimeZone tz;
    EXPECT_TRUE(absl::LoadTimeZone(zone, &tz));
    return absl::FromCivil(local, tz);
  }

  static TestDatabase* db_;
  static ServerHarness* harness_;
  static pqxx::connection* connection_;
  static int next_email_;
};

TestDatabase* HandBuiltStreakTest::db_ = nullptr;
ServerHarness* HandBuiltStreakTest::harness_ = nullptr;
pqxx::connection* HandBuiltStreakTest::connection_ = nullptr;
int HandBuiltStreakTest::next_email_ = 0;

const absl::CivilSecond kNoon(2026, 1, 20, 12, 0, 0);

TEST_F(HandBuiltStreakTest, NoActivity) {
  const int64_t id = User({});
  const Expected e = Check(id, "UTC", At("UTC", kNoon));
  EXPECT_EQ(e.current_days, 0);
  EXPECT_EQ(e.longest_days, 0);
  EXPECT_EQ(e.last_active_date, "");
  EXPECT_FALSE(e.active_on_as_of_date);
}

TEST_F(HandBuiltStreakTest, ActiveOnlyToday) {
  const int64_t id = User({{At("UTC", kNoon - 3600), "completed"}});
  const Expected e = Check(id, "UTC", At("UTC", kNoon));
  EXPECT_EQ(e.current_days, 1);
  EXPECT_TRUE(e.active_on_as_of_date);
  EXPECT_EQ(e.last_active_date, "2026-01-20");
}

TEST_F(HandBuiltStreakTest, ActiveOnlyYesterdayKeepsTheStreakAlive) {
  const int64_t id = User({{At("UTC", kNoon - 86400), "completed"}});
  const Expected e = Check(id, "UTC", At("UTC", kNoon));
  EXPECT_EQ(e.current_days, 1);
  EXPECT_FALSE(e.active_on_as_of_date);
  EXPECT_EQ(e.last_active_date, "2026-01-19");
}

TEST_F(HandBuiltStreakTest, OneDayGapBreaksTheRun) {
  const int64_t id = User({{At("UTC", kNoon - 4 * 86400), "completed"},
                           {At("UTC", kNoon - 3 * 86400), "completed"},
                           {At("UTC", kNoon - 1 * 86400), "completed"},
                           {At("UTC", kNoon), "completed"}});
  const Expected e = Check(id, "UTC", At("UTC", kNoon + 60));
  EXPECT_EQ(e.current_days, 2);
  EXPECT_EQ(e.longest_days, 2);
}

TEST_F(HandBuiltStreakTest, SeveralCompletionsOnOneDayCountOnce) {
  const int64_t id = User({{At("UTC", kNoon - 3 * 3600), "completed"},
                           {At("UTC", kNoon - 2 * 3600), "completed"},
                           {At("UTC", kNoon - 1 * 3600), "completed"}});
  const Expected e = Check(id, "UTC", At("UTC", kNoon));
  EXPECT_EQ(e.current_days, 1);
  EXPECT_EQ(e.longest_days, 1);
}

TEST_F(HandBuiltStreakTest, RowsAfterAsOfNeverCount) {
  const absl::Time as_of = At("UTC", kNoon);
  const int64_t id = User({{as_of - absl::Hours(30), "completed"},
                           {as_of, "completed"},  // exactly as_of: counts
                           {as_of + absl::Microseconds(1), "completed"},
                           {as_of + absl::Hours(20), "completed"},
                           {as_of + absl::Hours(40), "completed"}});
  const Expected e = Check(id, "UTC", as_of);
  EXPECT_EQ(e.current_days, 2);
  EXPECT_EQ(e.longest_days, 2);
  EXPECT_EQ(e.last_active_date, "2026-01-20");
  // One microsecond earlier, the row at as_of drops out too.
  const Expected before = Check(id, "UTC", as_of - absl::Microseconds(1));
  EXPECT_EQ(before.current_days, 1);
  EXPECT_FALSE(before.active_on_as_of_date);
}

TEST_F(HandBuiltStreakTest, PendingInProgressAndSkippedDoNotCount) {
  const int64_t id = User({{At("UTC", kNoon - 2 * 86400), "completed"},
                           {At("UTC", kNoon - 86400), "pending"},
                           {At("UTC", kNoon - 86400), "in_progress"},
                           {At("UTC", kNoon - 60), "skipped"}});
  const Expected e = Check(id, "UTC", At("UTC", kNoon));
  EXPECT_EQ(e.current_days, 0);
  EXPECT_EQ(e.longest_days, 1);
  EXPECT_EQ(e.last_active_date, "2026-01-18");
}

TEST_F(HandBuiltStreakTest, RunAcrossSpringForwardInNewYork) {
  // DST starts 2026-03-08 02:00 in New York. Completions at 23:30 local on
  // March 6..10 are one 5-day run there, whatever the UTC offset does.
  std::vector<std::pair<absl::Time, std::string>> rows;
  for (int day = 6; day <= 10; ++day) {
    rows.push_back({At("America/New_York", absl::CivilSecond(2026, 3, day, 23, 30, 0)),
                    "completed"});
  }
  const int64_t id = User(rows);
  const absl::Time as_of =
      At("America/New_York", absl::CivilSecond(2026, 3, 10, 23, 59, 0));
  const Expected ny = Check(id, "America/New_York", as_of);
  EXPECT_EQ(ny.current_days, 5);
  EXPECT_TRUE(ny.active_on_as_of_date);
  // In UTC the same instants fall on March 7..11 (04:30 or 03:30), and as_of
  // is on March 11: the run is still 5 days and today is active.
  const Expected utc = Check(id, "UTC", as_of);
  EXPECT_EQ(utc.longest_days, 5);
}

TEST_F(HandBuiltStreakTest, RunAcrossFallBackInNewYork) {
  // DST ends 2026-11-01 02:00: 01:30 happens twice. Completions at 00:30 on
  // Oct 31 .. Nov 2 local are three consecutive days.
  std::vector<std::pair<absl::Time, std::string>> rows;
  for (const absl::CivilSecond local :
       {absl::CivilSecond(2026, 10, 31, 0, 30, 0),
        absl::CivilSecond(2026, 11, 1, 1, 30, 0),
        absl::CivilSecond(2026, 11, 2, 0, 30, 0)}) {
    rows.push_back({At("America/New_York", local), "completed"});
  }
  const int64_t id = User(rows);
  const Expected e = Check(
      id, "America/New_York",
      At("America/New_York", absl::CivilSecond(2026, 11, 2, 12, 0, 0)));
  EXPECT_EQ(e.current_days, 3);
}

TEST_F(HandBuiltStreakTest, LocalMidnightSplitsDaysPerZone) {
  // 04:59:59Z and 05:00:00Z on Jan 15 are Jan 14 23:59:59 and Jan 15 00:00
  // in New York (EST, UTC-5): two days there, one day in UTC.
  const int64_t id =
      User({{At("UTC", absl::CivilSecond(2026, 1, 15, 4, 59, 59)), "completed"},
            {At("UTC", absl::CivilSecond(2026, 1, 15, 5, 0, 0)), "completed"}});
  const absl::Time as_of = At("UTC", absl::CivilSecond(2026, 1, 15, 12, 0, 0));
  EXPECT_EQ(Check(id, "America/New_York", as_of).longest_days, 2);
  EXPECT_EQ(Check(id, "UTC", as_of).longest_days, 1);
  // Kolkata (UTC+5:30) and Kiritimati (UTC+14) see one later day.
  EXPECT_EQ(Check(id, "Asia/Kolkata", as_of).last_active_date, "2026-01-15");
  EXPECT_EQ(Check(id, "Pacific/Kiritimati", as_of).last_active_date,
            "2026-01-15");
}

TEST_F(HandBuiltStreakTest, KiritimatiIsADayAheadOfUtc) {
  // 10:00Z is 00:00 the next day in Kiritimati (UTC+14).
  const int64_t id =
      User({{At("UTC", absl::CivilSecond(2026, 1, 15, 10, 0, 0)), "completed"}});
  const absl::Time as_of = At("UTC", absl::CivilSecond(2026, 1, 15, 11, 0, 0));
  const Expected kiritimati = Check(id, "Pacific/Kiritimati", as_of);
  EXPECT_EQ(kiritimati.last_active_date, "2026-01-16");
  EXPECT_TRUE(kiritimati.active_on_as_of_date);
  EXPECT_EQ(Check(id, "UTC", as_of).last_active_date, "2026-01-15");
}

TEST_F(HandBuiltStreakTest, BatchAnswersDuplicatesInPlace) {
  const int64_t a = User({{At("UTC", kNoon - 3600), "completed"}});
  const int64_t b = User({});
  v1::BatchGetStreaksRequest request;
  for (const int64_t id : {a, b, a, a, b}) request.add_user_ids(id);
  *request.mutable_as_of() = ToTimestamp(At("UTC", kNoon));
  v1::BatchGetStreaksResponse response;
  auto context = ContextWithDeadline();
  ASSERT_TRUE(
      harness_->stub().BatchGetStreaks(context.get(), request, &response).ok());
  ASSERT_EQ(response.streaks_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(response.streaks(i).user_id(), request.user_ids(i));
    EXPECT_EQ(response.streaks(i).current_days(),
              request.user_ids(i) == a ? 1 : 0);
  }
}

TEST_F(HandBuiltStreakTest, UnsetAsOfMeansNow) {
  const int64_t id = User({{absl::Now() - absl::Minutes(1), "completed"}});
  v1::GetStreakRequest request;
  request.set_user_id(id);
  v1::Streak response;
  auto context = ContextWithDeadline();
  ASSERT_TRUE(harness_->stub().GetStreak(context.get(), request, &response).ok());
  // A completion a minute ago lies today or, across midnight, yesterday:
  // either way the streak is alive.
  EXPECT_GE(response.current_days(), 1);
  EXPECT_NE(response.last_active_date(), "");
}

}  // namespace
}  // namespace tutoring::testing
