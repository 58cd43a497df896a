// tutoring::Client end to end. Against a live server over the fixture
// database, every RPC's answer equals what plain SQL computes. Against a
// scripted fake TutoringService on a real socket: retries of UNAVAILABLE,
// deadlines, and status codes passed through unchanged.
#include "client/client.h"

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/live_server.h"
#include "tests/client/sql_truth.h"

namespace tutoring::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

MATCHER_P(EqualsProto, expected, "") {
  return MessageDifferencer::Equals(arg, expected);
}

// Element-wise EqualsProto with readable failure output.
template <typename Message>
void ExpectSameMessages(const std::vector<Message>& actual,
                        const std::vector<Message>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_THAT(actual[i], EqualsProto(expected[i])) << "at index " << i;
  }
}

std::unique_ptr<Client> MakeClient(const ClientOptions& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// ---------------------------------------------------------------------------
// Against the real server.

class ClientLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<LiveServer>> server =
        LiveServer::Start("client");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.target = server_->target();
    client_ = MakeClient(options);
    ASSERT_NE(client_, nullptr);
  }

  SqlTruth truth() const { return SqlTruth(server_->database_url()); }

  static inline std::unique_ptr<LiveServer> server_;
  std::unique_ptr<Client> client_;
};

constexpr v1::Role kRoles[] = {v1::ROLE_UNSPECIFIED, v1::ROLE_STUDENT,
                               v1::ROLE_INSTRUCTOR, v1::ROLE_ADMIN};

TEST_F(ClientLiveTest, ListAllActiveUsersMatchesSql) {
  // Not vacuous: the fixture has several pages of active users.
  ASSERT_THAT(truth().ActiveUsers(v1::ROLE_UNSPECIFIED, false), SizeIs(130));
  for (v1::Role role : kRoles) {
    for (bool pending_only : {false, true}) {
      SCOPED_TRACE(
          absl::StrCat(v1::Role_Name(role), " pending_only=", pending_only));
      v1::ListActiveUsersRequest request;
      request.set_role(role);
      request.set_pending_onboarding_only(pending_only);
      request.set_page_size(7);
      absl::StatusOr<std::vector<v1::User>> users =
          client_->ListAllActiveUsers(request);
      ASSERT_TRUE(users.ok()) << users.status();
      ExpectSameMessages(*users, truth().ActiveUsers(role, pending_only));
    }
  }
}

TEST_F(ClientLiveTest, ForEachPageVisitsFullPagesThenTheLast) {
  const std::vector<v1::User> expected =
      truth().ActiveUsers(v1::ROLE_UNSPECIFIED, false);
  v1::ListActiveUsersRequest request;
  request.set_page_size(7);
  std::vector<int> page_sizes;
  std::vector<v1::User> users;
  absl::Status walked = client_->ForEachPage(
      &Client::ListActiveUsers, request,
      [&](const v1::ListActiveUsersResponse& page) {
        page_sizes.push_back(page.users_size());
        users.insert(users.end(), page.users().begin(), page.users().end());
        return absl::OkStatus();
      });
  ASSERT_TRUE(walked.ok()) << walked;
  ASSERT_GE(page_sizes.size(), expected.size() / 7);
  for (size_t i = 0; i + 1 < page_sizes.size(); ++i) {
    EXPECT_EQ(page_sizes[i], 7) << "page " << i;
  }
  EXPECT_LE(page_sizes.back(), 7);
  ExpectSameMessages(users, expected);
}

TEST_F(ClientLiveTest, ForEachPageStopsAtTheVisitorsError) {
  v1::ListActiveUsersRequest request;
  request.set_page_size(10);
  int visits = 0;
  absl::Status walked = client_->ForEachPage(
      &Client::ListActiveUsers, request,
      [&](const v1::ListActiveUsersResponse&) {
        return ++visits == 2 ? absl::CancelledError("enough")
                             : absl::OkStatus();
      });
  EXPECT_EQ(walked.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(visits, 2);
}

TEST_F(ClientLiveTest, ListAllUsersByRoleMatchesSql) {
  for (v1::Role role :
       {v1::ROLE_STUDENT, v1::ROLE_INSTRUCTOR, v1::ROLE_ADMIN}) {
    SCOPED_TRACE(v1::Role_Name(role));
    const std::vector<v1::User> expected = truth().UsersByRole(role);
    ASSERT_THAT(expected, Not(IsEmpty()));
    for (int page_size : {0, 13}) {
      v1::ListUsersByRoleRequest request;
      request.set_role(role);
      request.set_page_size(page_size);
      absl::StatusOr<std::vector<v1::User>> users =
          client_->ListAllUsersByRole(request);
      ASSERT_TRUE(users.ok()) << users.status();
      ExpectSameMessages(*users, expected);
    }
  }
}

TEST_F(ClientLiveTest, GetUserRoleMatchesSqlForEveryUser) {
  const std::vector<int64_t> ids = truth().UserIds();
  ASSERT_THAT(ids, SizeIs(154));
  for (int64_t id : ids) {
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    absl::StatusOr<v1::GetUserRoleResponse> response =
        client_->GetUserRole(request);
    ASSERT_TRUE(response.ok()) << id << ": " << response.status();
    EXPECT_THAT(*response, EqualsProto(*truth().UserRole(id)));
  }
}

TEST_F(ClientLiveTest, GetUserRoleOfAMissingUserIsNotFound) {
  for (int64_t id : {9, 299, 100000}) {
    ASSERT_FALSE(truth().UserRole(id).has_value());
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    EXPECT_EQ(client_->GetUserRole(request).status().code(),
              absl::StatusCode::kNotFound)
        << id;
  }
}

TEST_F(ClientLiveTest, ListAllExercisesMatchesSql) {
  int rows = 0;
  for (v1::Difficulty difficulty :
       {v1::DIFFICULTY_EASY, v1::DIFFICULTY_MEDIUM, v1::DIFFICULTY_HARD}) {
    for (const char* language : {"", "python", "Python", "go", "cobol"}) {
      SCOPED_TRACE(
          absl::StrCat(v1::Difficulty_Name(difficulty), " '", language, "'"));
      const std::vector<v1::Exercise> expected =
          truth().Exercises(difficulty, language);
      rows += expected.size();
      v1::ListExercisesRequest request;
      request.set_difficulty(difficulty);
      request.set_programming_language(language);
      request.set_page_size(2);
      absl::StatusOr<std::vector<v1::Exercise>> exercises =
          client_->ListAllExercises(request);
      ASSERT_TRUE(exercises.ok()) << exercises.status();
      ExpectSameMessages(*exercises, expected);
    }
  }
  EXPECT_GT(rows, 12);
}

TEST_F(ClientLiveTest, GetStreakMatchesSql) {
  int alive = 0;
  int active_today = 0;
  for (int64_t user_id : {1, 2, 3, 4, 5, 6, 8, 10, 12}) {
    for (const char* zone : {"UTC", "America/New_York", "Asia/Tokyo"}) {
      for (const char* as_of :
           {"2026-01-12T20:00:00Z", "2026-01-11T12:00:00Z",
            "2026-01-01T03:00:00Z", "2026-03-01T00:00:00Z"}) {
        SCOPED_TRACE(absl::StrCat("user ", user_id, " ", zone, " ", as_of));
        const v1::Streak expected = truth().Streak(user_id, zone, as_of);
        alive += expected.current_days() > 0;
        active_today += expected.active_on_as_of_date();
        v1::GetStreakRequest request;
        request.set_user_id(user_id);
        request.set_time_zone(zone);
        ASSERT_TRUE(google::protobuf::util::TimeUtil::FromString(
            as_of, request.mutable_as_of()));
        absl::StatusOr<v1::Streak> streak = client_->GetStreak(request);
        ASSERT_TRUE(streak.ok()) << streak.status();
        EXPECT_THAT(*streak, EqualsProto(expected));
      }
    }
  }
  // Not vacuous: some streaks are alive, some users active on the day.
  EXPECT_GT(alive, 5);
  EXPECT_GT(active_today, 3);
}

TEST_F(ClientLiveTest, BatchGetStreaksAnswersInRequestOrder) {
  const std::vector<int64_t> ids = {10, 1, 5, 1, 4, 6};
  v1::BatchGetStreaksRequest request;
  request.mutable_user_ids()->Add(ids.begin(), ids.end());
  request.set_time_zone("America/New_York");
  ASSERT_TRUE(google::protobuf::util::TimeUtil::FromString(
      "2026-01-12T20:00:00Z", request.mutable_as_of()));
  absl::StatusOr<v1::BatchGetStreaksResponse> response =
      client_->BatchGetStreaks(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->streaks_size(), static_cast<int>(ids.size()));
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_THAT(response->streaks(i),
                EqualsProto(truth().Streak(ids[i], "America/New_York",
                                           "2026-01-12T20:00:00Z")))
        << "position " << i;
  }
}

TEST_F(ClientLiveTest, BatchGetStreaksWithAMissingUserIsNotFound) {
  v1::BatchGetStreaksRequest request;
  request.add_user_ids(1);
  request.add_user_ids(299);
  EXPECT_EQ(client_->BatchGetStreaks(request).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientLiveTest, BadRequestsAreInvalidArgumentWithAMessage) {
  std::vector<absl::Status> statuses;
  {
    v1::ListActiveUsersRequest request;
    request.set_page_size(-1);
    statuses.push_back(client_->ListActiveUsers(request).status());
  }
  {
    v1::ListActiveUsersRequest request;
    request.set_page_token("garbage");
    statuses.push_back(client_->ListActiveUsers(request).status());
  }
  {
    v1::ListUsersByRoleRequest request;  // role unspecified
    statuses.push_back(client_->ListUsersByRole(request).status());
  }
  {
    v1::GetUserRoleRequest request;  // user_id 0
    statuses.push_back(client_->GetUserRole(request).status());
  }
  {
    v1::GetStreakRequest request;
    request.set_user_id(1);
    request.set_time_zone("+05:00");
    statuses.push_back(client_->GetStreak(request).status());
  }
  {
    v1::ListExercisesRequest request;  // difficulty unspecified
    statuses.push_back(client_->ListExercises(request).status());
  }
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument)
        << "request " << i << ": " << statuses[i];
    EXPECT_FALSE(statuses[i].message().empty()) << "request " << i;
  }
}

TEST_F(ClientLiveTest, PageTokenOfAnotherFilterIsInvalidArgument) {
  v1::ListActiveUsersRequest request;
  request.set_page_size(5);
  absl::StatusOr<v1::ListActiveUsersResponse> first =
      client_->ListActiveUsers(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token().empty());
  request.set_page_token(first->next_page_token());
  request.set_role(v1::ROLE_ADMIN);
  EXPECT_EQ(client_->ListActiveUsers(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientLiveTest, CheckHealthReportsServing) {
  for (const char* service : {"", "tutoring.v1.TutoringService"}) {
    absl::StatusOr<ServingStatus> status = client_->CheckHealth(service);
    ASSERT_TRUE(status.ok()) << service << ": " << status.status();
    EXPECT_EQ(*status, ServingStatus::kServing) << service;
  }
  EXPECT_EQ(client_->CheckHealth("no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Against a scripted fake server.

// GetUserRole answers with `failure` for the first `failures` calls, then
// with the requested id as an admin. ListExercises never answers (the call
// ends only when the client gives up). ListActiveUsers always answers with
// next_page_token "loop". Records each call's remaining deadline.
class FakeService final : public v1::TutoringService::CallbackService {
 public:
  void FailFirst(int failures, grpc::Status failure) {
    absl::MutexLock lock(&mu_);
    failures_ = failures;
    failure_ = std::move(failure);
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::Duration last_remaining() const {
    absl::MutexLock lock(&mu_);
    return last_remaining_;
  }

  grpc::ServerUnaryReactor* GetUserRole(
      grpc::CallbackServerContext* context,
      const v1::GetUserRoleRequest* request,
      v1::GetUserRoleResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    absl::MutexLock lock(&mu_);
    ++calls_;
    last_remaining_ = absl::FromChrono(context->deadline() -
                                       std::chrono::system_clock::now());
    if (calls_ <= failures_) {
      reactor->Finish(failure_);
    } else {
      response->set_user_id(request->user_id());
      response->set_role(v1::ROLE_ADMIN);
      response->set_is_active(true);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerUnaryReactor* ListExercises(grpc::CallbackServerContext*,
                                          const v1::ListExercisesRequest*,
                                          v1::ListExercisesResponse*) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
    }
    // gRPC owns callback reactors: OnDone deletes it.
    return new NeverAnswers();
  }

  grpc::ServerUnaryReactor* ListActiveUsers(
      grpc::CallbackServerContext* context, const v1::ListActiveUsersRequest*,
      v1::ListActiveUsersResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
    }
    response->add_users()->set_id(1);
    response->set_next_page_token("loop");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  class NeverAnswers final : public grpc::ServerUnaryReactor {
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }
  };

  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status failure_ ABSL_GUARDED_BY(mu_);
  absl::Duration last_remaining_ ABSL_GUARDED_BY(mu_);
};

class ClientFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
    // The client checks health (client/service_config.json). Once a live
    // server of this process has enabled gRPC's default health service,
    // every server built here has one, which knows no service until told:
    // report SERVING, as a real server does.
    if (grpc::HealthCheckServiceInterface* health =
            server_->GetHealthCheckService()) {
      health->SetServingStatus("tutoring.v1.TutoringService", true);
    }
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
    }
  }

  // Fast retries, so the tests take milliseconds.
  ClientOptions Options(int max_attempts) const {
    ClientOptions options;
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.retry.max_attempts = max_attempts;
    options.retry.initial_backoff = absl::Milliseconds(10);
    options.retry.max_backoff = absl::Milliseconds(20);
    return options;
  }

  static v1::GetUserRoleRequest UserRequest() {
    v1::GetUserRoleRequest request;
    request.set_user_id(42);
    return request;
  }

  FakeService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ClientFakeServerTest, RetriesUnavailableUntilAnAttemptSucceeds) {
  service_.FailFirst(2, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  std::unique_ptr<Client> client = MakeClient(Options(4));
  absl::StatusOr<v1::GetUserRoleResponse> response =
      client->GetUserRole(UserRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->user_id(), 42);
  EXPECT_EQ(response->role(), v1::ROLE_ADMIN);
  EXPECT_EQ(service_.calls(), 3);
}

TEST_F(ClientFakeServerTest, ReturnsUnavailableAfterMaxAttempts) {
  service_.FailFirst(100,
                     grpc::Status(grpc::StatusCode::UNAVAILABLE, "db down"));
  std::unique_ptr<Client> client = MakeClient(Options(3));
  absl::Status status = client->GetUserRole(UserRequest()).status();
  EXPECT_EQ(status, absl::UnavailableError("db down"));
  EXPECT_EQ(service_.calls(), 3);
}

TEST_F(ClientFakeServerTest, OneAttemptMeansNoRetry) {
  service_.FailFirst(100, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  std::unique_ptr<Client> client = MakeClient(Options(1));
  EXPECT_EQ(client->GetUserRole(UserRequest()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(service_.calls(), 1);
}

TEST_F(ClientFakeServerTest, OtherCodesAreReturnedAtOnceUnchanged) {
  std::unique_ptr<Client> client = MakeClient(Options(5));
  int expected_calls = 0;
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::FAILED_PRECONDITION}) {
    const std::string message = absl::StrCat("message for code ", code);
    service_.FailFirst(expected_calls + 1, grpc::Status(code, message));
    absl::Status status = client->GetUserRole(UserRequest()).status();
    ++expected_calls;
    EXPECT_EQ(status,
              absl::Status(static_cast<absl::StatusCode>(code), message));
    EXPECT_EQ(service_.calls(), expected_calls) << "code " << code;
  }
}

TEST_F(ClientFakeServerTest, SendsTheDefaultDeadline) {
  ClientOptions options = Options(1);
  options.default_deadline = absl::Seconds(7);
  std::unique_ptr<Client> client = MakeClient(options);
  ASSERT_TRUE(client->GetUserRole(UserRequest()).ok());
  // gRPC rounds the timeout it sends up a little; far from any other value.
  EXPECT_GT(service_.last_remaining(), absl::Seconds(5));
  EXPECT_LE(service_.last_remaining(), absl::Seconds(7.5));
}

TEST_F(ClientFakeServerTest, SendsThePerCallDeadline) {
  std::unique_ptr<Client> client = MakeClient(Options(1));
  ASSERT_TRUE(client->GetUserRole(UserRequest(), absl::Seconds(3)).ok());
  EXPECT_GT(service_.last_remaining(), absl::Seconds(1));
  EXPECT_LE(service_.last_remaining(), absl::Seconds(3.5));
}

TEST_F(ClientFakeServerTest, DeadlineExceededWhenTheServerDoesNotAnswer) {
  std::unique_ptr<Client> client = MakeClient(Options(3));
  v1::ListExercisesRequest request;
  const absl::Time start = absl::Now();
  absl::Status status =
      client->ListExercises(request, absl::Milliseconds(200)).status();
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(elapsed, absl::Milliseconds(150));
  EXPECT_LT(elapsed, absl::Seconds(3));
}

TEST_F(ClientFakeServerTest, NonPositiveDeadlineIsRejectedWithoutACall) {
  std::unique_ptr<Client> client = MakeClient(Options(1));
  for (absl::Duration deadline : {absl::ZeroDuration(), absl::Seconds(-1)}) {
    EXPECT_EQ(client->GetUserRole(UserRequest(), deadline).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(service_.calls(), 0);
}

TEST_F(ClientFakeServerTest, ForEachPageStopsWhenTheServerRepeatsAToken) {
  std::unique_ptr<Client> client = MakeClient(Options(1));
  int visits = 0;
  absl::Status walked = client->ForEachPage(
      &Client::ListActiveUsers, v1::ListActiveUsersRequest(),
      [&](const v1::ListActiveUsersResponse&) {
        ++visits;
        return absl::OkStatus();
      });
  EXPECT_EQ(walked.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(visits, 2);
}

// A port nobody listens on: bound, then released.
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "cannot bind a port";
  }
  close(fd);
  return ntohs(address.sin_port);
}

TEST(ClientNoServerTest, UnavailableSoonWhenNothingListens) {
  ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", UnusedPort());
  options.default_deadline = absl::Seconds(20);
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(50);
  options.retry.max_backoff = absl::Milliseconds(100);
  std::unique_ptr<Client> client = MakeClient(options);
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  const absl::Time start = absl::Now();
  absl::Status status = client->GetUserRole(request).status();
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  // Well within the deadline: a refused connection is not waited out.
  EXPECT_LT(elapsed, absl::Seconds(5));
}

}  // namespace
}  // namespace tutoring::testing
