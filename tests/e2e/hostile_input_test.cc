// The real tutoring-server binary against hostile input, on both gRPC
// APIs: request bodies that are not protobuf, oversized requests, and a
// deadline past the year 2262.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {
namespace {

constexpr const char* kMethods[] = {
    "ListActiveUsers", "ListUsersByRole", "GetUserRole",
    "ListExercises",   "GetStreak",       "BatchGetStreaks"};

grpc::Status CallRaw(grpc::GenericStub& generic, const std::string& method,
                     const std::string& body, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  std::atomic<bool> done{false};
  absl::Mutex mu;
  generic.UnaryCall(&context,
                    absl::StrCat("/tutoring.v1.TutoringService/", method),
                    grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      absl::MutexLock lock(&mu);
                      status = std::move(s);
                      done = true;
                    });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](std::atomic<bool>* d) { return d->load(); }, &done));
  return status;
}

class HostileInputTest : public ::testing::TestWithParam<const char*> {};

TEST_P(HostileInputTest, UndecodableBodiesAreInvalidArgumentOnEveryMethod) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      E2eDatabaseUrl(), {absl::StrCat("--grpc-api=", GetParam())});
  ASSERT_NE(server, nullptr);
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  // A truncated varint, a length running past the end, a wrong wire type
  // for field 1, and an invalid UTF-8 string in field 1 (a string in
  // every request with one).
  const std::string bodies[] = {std::string("\x08", 1),
                                std::string("\x0a\x05" "ab", 4),
                                std::string("\xff\xff\xff", 3)};
  for (const char* method : kMethods) {
    for (const std::string& body : bodies) {
      const grpc::Status status =
          CallRaw(generic, method, body, absl::Seconds(5));
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << ": " << status.error_message();
      EXPECT_FALSE(status.error_message().empty()) << method;
    }
  }
  // The server is still there and answers correctly.
  auto stub = v1::TutoringService::NewStub(channel);
  grpc::ClientContext context;
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  v1::GetUserRoleResponse response;
  EXPECT_TRUE(stub->GetUserRole(&context, request, &response).ok());
}

TEST_P(HostileInputTest, OversizedRequestIsResourceExhausted) {
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(E2eDatabaseUrl(),
                           {absl::StrCat("--grpc-api=", GetParam()),
                            "--max-request-bytes=16384"});
  ASSERT_NE(server, nullptr);
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);
  v1::ListExercisesRequest request;
  request.set_programming_language(std::string(20000, 'x'));
  grpc::ClientContext context;
  v1::ListExercisesResponse response;
  EXPECT_EQ(stub->ListExercises(&context, request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The largest valid request still fits.
  v1::BatchGetStreaksRequest batch;
  for (int i = 0; i < 1000; ++i) batch.add_user_ids(100000 - i);
  batch.set_time_zone("America/Argentina/ComodRivadavia");
  grpc::ClientContext batch_context;
  v1::BatchGetStreaksResponse batch_response;
  const grpc::Status status =
      stub->BatchGetStreaks(&batch_context, batch, &batch_response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(batch_response.streaks_size(), 1000);
}

TEST_P(HostileInputTest, DeadlineBeyondTheYear2262IsNoDeadline) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      E2eDatabaseUrl(), {absl::StrCat("--grpc-api=", GetParam())});
  ASSERT_NE(server, nullptr);
  auto stub = v1::TutoringService::NewStub(
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials()));
  // gRPC sends the largest timeout it can encode; the server's clock type
  // overflows on it (the year 2262 is where int64 nanoseconds end).
  for (absl::Duration ahead : {absl::Hours(24 * 365 * 250),
                               absl::Hours(24 * 365 * 5000)}) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + ahead));
    v1::GetUserRoleRequest request;
    request.set_user_id(2);
    v1::GetUserRoleResponse response;
    const grpc::Status status = stub->GetUserRole(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

INSTANTIATE_TEST_SUITE_P(BothApis, HostileInputTest,
                         ::testing::Values("async", "callback"));

}  // namespace
}  // namespace tutoring::testing
