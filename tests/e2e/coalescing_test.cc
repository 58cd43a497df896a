// Coalescing, end to end: many concurrent GetUserRole and GetStreak calls,
// with duplicate and missing ids and (for streaks) different zones and
// instants, wait together behind a statement that holds the server's only
// connection; once it is released they go out as batch statements, and each
// call must get exactly the answer a call of its own gets: compared with
// plain SQL and with the independent streak oracle. The pool's counters show
// that batching happened.
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "db/seed/seeder.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/e2e/streak_oracle.h"
#include "tests/support/eventually.h"
#include "tests/support/pg_activity.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {
namespace {

constexpr char kApplicationName[] = "tutoring-coalescing-test";
constexpr int kUsers = 3000;

// One asynchronous call and its outcome.
using Async = v1::TutoringService::Stub::async_interface;

template <typename Request, typename Response>
struct Pending {
  // Starts `method` (e.g. &Async::GetUserRole) with the request as it is now
  // and a 60 s deadline; `done` is notified with the call's status.
  using Method = void (Async::*)(grpc::ClientContext*, const Request*,
                                 Response*, std::function<void(grpc::Status)>);
  void Start(v1::TutoringService::Stub& stub, Method method) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    (stub.async()->*method)(&context, &request, &response,
                            [this](grpc::Status s) {
                              status = std::move(s);
                              done.Notify();
                            });
  }

  grpc::ClientContext context;
  Request request;
  Response response;
  grpc::Status status;
  absl::Notification done;
};

class CoalescingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db =
        CreateMigratedDatabase("coalescing");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    db::SeedOptions seed;
    seed.users = kUsers;
    seed.seed = 11;
    seed.exercises = 300;
    ASSERT_TRUE(db::SeedDatabase(db_->url(), seed).ok());
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    HarnessOptions options;
    // One connection, one statement at a time: while a statement holds it,
    // every other call waits, so they are coalesced when it ends.
    options.pool_size = 1;
    options.max_overflow = 0;
    options.io_threads = 1;
    options.pipeline_depth = 1;
    // One probe at start: later ones would be counted among the statements
    // (on a loaded box, ten a second over several seconds).
    options.health_interval = absl::Minutes(1);
    options.application_name = kApplicationName;
    harness_ = ServerHarness::Start(db_->url(), options);
    ASSERT_NE(harness_, nullptr);
    ASSERT_TRUE(harness_->WaitForHealth(
        "", grpc::health::v1::HealthCheckResponse::SERVING, absl::Seconds(10)));
  }

  // Holds LOCK TABLE users until Release(), then waits until a GetUserRole
  // call of its own is blocked on it: the one connection is taken.
  class Gate {
   public:
    Gate(const std::string& url, ServerHarness& harness)
        : connection_(url), tx_(connection_) {
      tx_.exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
      blocker_.request.set_user_id(1);
      blocker_.Start(harness.stub(), &Async::GetUserRole);
      EXPECT_EQ(WaitForLockWaiters(url, kApplicationName, 1, absl::Seconds(10)),
                1);
    }
    ~Gate() { Release(); }
    void Release() {
      if (released_) return;
      released_ = true;
      tx_.abort();
      EXPECT_TRUE(
          blocker_.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
      EXPECT_TRUE(blocker_.status.ok()) << blocker_.status.error_message();
    }

   private:
    pqxx::connection connection_;
    pqxx::work tx_;
    Pending<v1::GetUserRoleRequest, v1::GetUserRoleResponse> blocker_;
    bool released_ = false;
  };

  // Waits (bounded) until `count` calls wait in the pool.
  bool WaitForWaiting(int count) {
    return Eventually([&] { return harness_->pool().Stats().waiting >= count; },
                      absl::Seconds(10)) &&
           harness_->pool().Stats().waiting == count;
  }

  static TestDatabase* db_;
  std::unique_ptr<ServerHarness> harness_;
};

TestDatabase* CoalescingTest::db_ = nullptr;

// Ids 1..kUsers exist; above do not. Duplicates on purpose.
std::vector<int64_t> SomeIds(int n, std::mt19937_64& random) {
  std::vector<int64_t> ids;
  std::uniform_int_distribution<int64_t> existing(1, kUsers);
  for (int i = 0; i < n; ++i) {
    if (i % 7 == 3) {
      ids.push_back(kUsers + 1000 + i);  // missing
    } else if (i % 5 == 4 && !ids.empty()) {
      ids.push_back(ids[i / 2]);  // duplicate of an earlier one
    } else {
      ids.push_back(existing(random));
    }
  }
  return ids;
}

TEST_F(CoalescingTest, ConcurrentGetUserRoleCallsGetTheirOwnAnswers) {
  std::mt19937_64 random(1);
  const std::vector<int64_t> ids = SomeIds(120, random);
  using Call = Pending<v1::GetUserRoleRequest, v1::GetUserRoleResponse>;
  std::vector<std::unique_ptr<Call>> calls;
  const db::PoolStats before = harness_->pool().Stats();
  {
    Gate gate(db_->url(), *harness_);
    for (const int64_t id : ids) {
      calls.push_back(std::make_unique<Call>());
      Call* call = calls.back().get();
      call->request.set_user_id(id);
      call->Start(harness_->stub(), &Async::GetUserRole);
    }
    ASSERT_TRUE(WaitForWaiting(static_cast<int>(ids.size())));
  }
  pqxx::connection connection(db_->url());
  pqxx::nontransaction tx(connection);
  for (size_t i = 0; i < ids.size(); ++i) {
    Call& call = *calls[i];
    ASSERT_TRUE(call.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    const pqxx::result truth = tx.exec_params(
        "SELECT role::text, is_active FROM users WHERE id = $1", ids[i]);
    if (truth.empty()) {
      EXPECT_EQ(call.status.error_code(), grpc::StatusCode::NOT_FOUND)
          << ids[i];
      continue;
    }
    ASSERT_TRUE(call.status.ok())
        << ids[i] << ": " << call.status.error_message();
    EXPECT_EQ(call.response.user_id(), ids[i]);
    EXPECT_EQ(v1::Role_Name(call.response.role()),
              absl::StrCat("ROLE_", absl::AsciiStrToUpper(truth[0][0].c_str())))
        << ids[i];
    EXPECT_EQ(call.response.is_active(), truth[0][1].as<bool>()) << ids[i];
  }
  const db::PoolStats after = harness_->pool().Stats();
  EXPECT_GE(after.batches_sent - before.batches_sent, 1);
  EXPECT_GE(after.calls_batched - before.calls_batched,
            static_cast<int64_t>(ids.size()));
  // Far fewer statements than calls: the blocker, a health probe or two and
  // the batches.
  EXPECT_LT(after.statements_sent - before.statements_sent, 20);
}

TEST_F(CoalescingTest, ConcurrentGetStreakCallsGetTheirOwnAnswers) {
  std::mt19937_64 random(2);
  const std::vector<int64_t> ids = SomeIds(96, random);
  const std::vector<std::string> zones = {"UTC", "America/New_York",
                                          "Asia/Kolkata", "Pacific/Kiritimati"};
  // Instants inside the seeded activity window (it ends 2026-11-01), one
  // at a New York midnight edge, and "now" (as_of unset).
  const std::vector<absl::Time> instants = {
      absl::FromUnixSeconds(1792065600),  // 2026-10-15T12:00:00Z
      absl::FromUnixSeconds(1788235170),  // 2026-09-01T03:59:30Z
      absl::InfiniteFuture(),             // unset: now
  };
  struct Asked {
    int64_t id;
    std::string zone;
    absl::Time as_of;
  };
  using Call = Pending<v1::GetStreakRequest, v1::Streak>;
  std::vector<Asked> asked;
  std::vector<std::unique_ptr<Call>> calls;
  const db::PoolStats before = harness_->pool().Stats();
  {
    Gate gate(db_->url(), *harness_);
    for (size_t i = 0; i < ids.size(); ++i) {
      const Asked a{ids[i], zones[i % zones.size()],
                    instants[(i / 2) % instants.size()]};
      asked.push_back(a);
      calls.push_back(std::make_unique<Call>());
      Call* call = calls.back().get();
      call->request.set_user_id(a.id);
      call->request.set_time_zone(a.zone);
      if (a.as_of != absl::InfiniteFuture()) {
        *call->request.mutable_as_of() = ToTimestamp(a.as_of);
      }
      call->Start(harness_->stub(), &Async::GetStreak);
    }
    ASSERT_TRUE(WaitForWaiting(static_cast<int>(ids.size())));
  }
  pqxx::connection connection(db_->url());
  const std::map<int64_t, std::vector<RawRow>> rows =
      LoadRows(connection, absl::StrCat("{", absl::StrJoin(ids, ","), "}"));
  pqxx::nontransaction tx(connection);
  for (size_t i = 0; i < ids.size(); ++i) {
    Call& call = *calls[i];
    ASSERT_TRUE(call.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    const bool exists =
        tx.exec_params1("SELECT count(*) FROM users WHERE id = $1", ids[i])[0]
            .as<int>() == 1;
    if (!exists) {
      EXPECT_EQ(call.status.error_code(), grpc::StatusCode::NOT_FOUND)
          << ids[i];
      continue;
    }
    ASSERT_TRUE(call.status.ok())
        << ids[i] << ": " << call.status.error_message();
    const Asked& a = asked[i];
    const absl::Time as_of =
        a.as_of == absl::InfiniteFuture() ? absl::Now() : a.as_of;
    const auto found = rows.find(a.id);
    const std::vector<RawRow> none;
    EXPECT_EQ(FromProto(call.response),
              Oracle(found == rows.end() ? none : found->second, a.zone, as_of))
        << "user " << a.id << " in " << a.zone << " as of "
        << absl::FormatTime(as_of);
    EXPECT_EQ(call.response.user_id(), a.id);
  }
  const db::PoolStats after = harness_->pool().Stats();
  EXPECT_GE(after.batches_sent - before.batches_sent, 1);
  EXPECT_GE(after.calls_batched - before.calls_batched,
            static_cast<int64_t>(ids.size()));
  EXPECT_LT(after.statements_sent - before.statements_sent, 20);
}

}  // namespace
}  // namespace tutoring::testing
