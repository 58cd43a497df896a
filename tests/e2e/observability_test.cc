// What an operator sees of the real tutoring-server binary: the admin HTTP
// port's Prometheus metrics (counted against the calls the test made and
// the answers it got), /healthz and /readyz, the JSON log (every line of
// every server a test starts is checked by ServerProcess), the access log
// with request ids and W3C traceparent, and answers to callers that keep
// the database's host, port and password to the log.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <regex>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/server_harness.h"
#include "tests/support/eventually.h"
#include "tests/support/pg_activity.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {
namespace {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path> over a plain socket (HTTP/1.0).
HttpAnswer HttpGet(int port, const std::string& path) {
  HttpAnswer answer;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return answer;
  absl::Cleanup close_fd = [fd] { close(fd); };
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    return answer;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, request.data(), request.size()) !=
      static_cast<ssize_t>(request.size())) {
    return answer;
  }
  std::string response;
  char buffer[65536];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) {
    response.append(buffer, static_cast<size_t>(n));
  }
  const size_t space = response.find(' ');
  const size_t body = response.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos ||
      !absl::SimpleAtoi(response.substr(space + 1, 3), &answer.status)) {
    return answer;
  }
  answer.body = response.substr(body + 4);
  return answer;
}

// The Prometheus text exposition format, parsed strictly: every line is a
// comment (# HELP / # TYPE), or `name{label="value",...} number`. Samples are
// keyed "name{labels as sent}". Records a failure for a line that does not
// parse.
std::map<std::string, double> ParseExposition(const std::string& text) {
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN))");
  static const std::regex kComment(
      R"(# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)))");
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string l(line);
    std::smatch match;
    if (std::regex_match(l, match, kComment)) continue;
    if (!std::regex_match(l, match, kSample)) {
      ADD_FAILURE() << "not Prometheus text format: " << l;
      continue;
    }
    double value = 0;
    const std::string number = match[match.size() - 1].str();
    if (number == "+Inf" || number == "-Inf" || number == "NaN") continue;
    EXPECT_TRUE(absl::SimpleAtod(number, &value)) << l;
    samples[l.substr(0, l.rfind(' '))] = value;
  }
  return samples;
}

// The sample of grpc_server_handled_total for GetUserRole and `code`
// (labels in the order prometheus-cpp writes them: sorted by name).
double Handled(const std::map<std::string, double>& samples,
               const std::string& method, const std::string& code) {
  const auto it = samples.find(absl::StrCat(
      "grpc_server_handled_total{grpc_code=\"", code, "\",grpc_method=\"",
      method,
      "\",grpc_service=\"tutoring.v1.TutoringService\",grpc_type=\"unary\"}"));
  return it == samples.end() ? 0 : it->second;
}

double Sample(const std::map<std::string, double>& samples,
              const std::string& key) {
  const auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

// The sum of every series of metric `name` (all label sets), -1 if none.
double SumOf(const std::map<std::string, double>& samples,
             const std::string& name) {
  double sum = 0;
  bool found = false;
  for (const auto& [key, value] : samples) {
    if (key == name || absl::StartsWith(key, name + "{")) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : -1;
}

TEST(ObservabilityTest, MetricsCountTheCallsAsTheClientSawThem) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> db =
      CreateMigratedDatabase("observability_metrics");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string url = (*db)->url();
  std::vector<int64_t> ids;
  int64_t missing_id = 0;
  {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    tx.exec0(
        "INSERT INTO users (email, display_name, role) "
        "SELECT 'u' || g || '@example.test', 'User ' || g, 'student' "
        "FROM generate_series(1, 5) g");
    for (const auto& row : tx.exec("SELECT id FROM users ORDER BY id")) {
      ids.push_back(row[0].as<int64_t>());
    }
    missing_id = tx.exec1("SELECT max(id) + 1000 FROM users")[0].as<int64_t>();
  }
  // One connection with room for one statement, and a short wait for it: a
  // call held by a lock makes the next ones RESOURCE_EXHAUSTED.
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      url, {"--database-pool-size=1", "--database-max-overflow=0",
            "--database-pipeline-depth=1", "--database-max-waiting=1",
            "--database-acquire-timeout=1s",
            "--database-io-threads=1", "--health-interval=500ms"});
  ASSERT_NE(server, nullptr);
  const int admin_port = ParseAdminPort(server->process().Err());
  ASSERT_GT(admin_port, 0) << server->process().Err();
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);

  std::map<grpc::StatusCode, int> seen;
  auto get_role = [&](int64_t id) {
    v1::GetUserRoleRequest request;
    request.set_user_id(id);
    v1::GetUserRoleResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    const grpc::Status status = stub->GetUserRole(&context, request, &response);
    ++seen[status.error_code()];
    return status;
  };
  for (int64_t id : ids) {
    const grpc::Status status = get_role(id);
    ASSERT_TRUE(status.ok()) << status.error_code() << " "
                             << status.error_message();
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get_role(-i).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(get_role(missing_id + i).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // Hold the only connection: a call blocked by a lock on users.
  auto lock_connection = std::make_unique<pqxx::connection>(url);
  auto lock = std::make_unique<pqxx::work>(*lock_connection);
  lock->exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  grpc::Status held_status;
  absl::Notification held_done;
  v1::GetUserRoleRequest held_request;
  held_request.set_user_id(ids[0]);
  v1::GetUserRoleResponse held_response;
  grpc::ClientContext held_context;
  held_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  stub->async()->GetUserRole(&held_context, &held_request, &held_response,
                             [&](grpc::Status status) {
                               held_status = std::move(status);
                               held_done.Notify();
                             });
  absl::Cleanup settle = [&] {
    if (lock != nullptr) lock->abort();
    held_done.WaitForNotification();
  };
  ASSERT_EQ(WaitForLockWaiters(url, "tutoring-server", 1, absl::Seconds(20)),
            1)
      << DescribeSessions(url, "tutoring-server");
  int shed = 0;
  for (int i = 0; i < 6; ++i) {
    if (get_role(ids[1]).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++shed;
    }
  }
  EXPECT_EQ(shed, 6);
  lock->commit();
  lock.reset();
  held_done.WaitForNotification();
  EXPECT_TRUE(held_status.ok()) << held_status.error_message();
  ++seen[held_status.error_code()];

  const HttpAnswer metrics = HttpGet(admin_port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::map<std::string, double> samples = ParseExposition(metrics.body);
  int total = 0;
  for (const auto& [code, count] : seen) {
    const std::string name =
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
    EXPECT_EQ(Handled(samples, "GetUserRole", name), count) << name;
    EXPECT_EQ(Sample(samples,
                     absl::StrCat("grpc_server_handling_seconds_count{grpc_"
                                  "code=\"",
                                  name,
                                  "\",grpc_method=\"GetUserRole\",grpc_"
                                  "service=\"tutoring.v1.TutoringService\","
                                  "grpc_type=\"unary\"}")),
              count)
        << name;
    total += count;
  }
  const std::string labels =
      "{grpc_method=\"GetUserRole\",grpc_service=\"tutoring.v1."
      "TutoringService\",grpc_type=\"unary\"}";
  EXPECT_EQ(Sample(samples, "grpc_server_started_total" + labels), total);
  EXPECT_EQ(Sample(samples, "tutoring_calls_shed_total" + labels),
            seen[grpc::StatusCode::RESOURCE_EXHAUSTED]);
  EXPECT_EQ(Sample(samples, "tutoring_calls_in_flight" + labels), 0);
  // The database layer: one connection, nothing waiting now; the OK and
  // NOT_FOUND calls each ran a statement.
  EXPECT_EQ(SumOf(samples, "tutoring_db_connections_open"), 1);
  EXPECT_EQ(SumOf(samples, "tutoring_db_queue_length"), 0);
  EXPECT_EQ(SumOf(samples, "tutoring_db_endpoint_usable"), 1);
  EXPECT_GE(SumOf(samples, "tutoring_db_statements_sent_total"),
            seen[grpc::StatusCode::OK] + seen[grpc::StatusCode::NOT_FOUND]);
  EXPECT_EQ(Sample(samples, "tutoring_build_info{version=\"" +
                                std::string(TUTORING_VERSION) + "\"}"),
            1);
  EXPECT_GT(Sample(samples, "process_resident_memory_bytes"), 0);
  EXPECT_GT(Sample(samples, "process_open_fds"), 0);
  EXPECT_GT(Sample(samples, "process_threads"), 1);
}

TEST(ObservabilityTest, AnUnreachableDatabaseStaysInTheLog) {
  // A password and a port of our own in the URL; nothing listens there.
  const int closed_port = [] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);  // bound, never listened: connects are refused
    return ntohs(address.sin_port);
  }();
  const std::string password = "Pw-9f81c2e7";
  const std::string url = absl::StrCat("postgresql://tutoring:", password,
                                       "@127.0.0.1:", closed_port, "/nowhere");
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      url, {"--health-interval=100ms"}, /*wait_until_serving=*/false);
  ASSERT_NE(server, nullptr);
  // Told at start, though the state did not change.
  ASSERT_TRUE(server->process().WaitForErr("NOT_SERVING", absl::Seconds(20)))
      << server->process().Err();
  // The admin port opens after the gRPC server (whose health is logged
  // first).
  ASSERT_TRUE(server->process().WaitForErr("(admin port", absl::Seconds(20)))
      << server->process().Err();
  const int admin_port = ParseAdminPort(server->process().Err());
  EXPECT_EQ(HttpGet(admin_port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(admin_port, "/readyz").status, 503);

  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);
  const std::string traceparent =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  std::vector<std::string> request_ids;
  for (int i = 0; i < 50; ++i) {
    v1::GetUserRoleRequest request;
    request.set_user_id(1);
    v1::GetUserRoleResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    context.AddMetadata("traceparent", traceparent);
    const grpc::Status status = stub->GetUserRole(&context, request, &response);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    const std::string& message = status.error_message();
    for (const std::string& secret :
         {password, std::string("127.0.0.1"), absl::StrCat(closed_port),
          std::string("nowhere"), std::string("tutoring:")}) {
      EXPECT_EQ(message.find(secret), std::string::npos)
          << "the answer names " << secret << ": " << message;
    }
    const auto id = context.GetServerTrailingMetadata().find("x-request-id");
    ASSERT_NE(id, context.GetServerTrailingMetadata().end());
    const std::string request_id(id->second.data(), id->second.size());
    EXPECT_NE(message.find("(request id " + request_id + ")"),
              std::string::npos)
        << message;
    request_ids.push_back(request_id);
  }
  // The first failures are logged in full, with their request id, the
  // database's own words and the caller's traceparent; the rest are
  // rate-limited, not one line per call.
  const std::string log = server->process().Err();
  EXPECT_NE(log.find("\"request_id\":\"" + request_ids[0] + "\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"traceparent\":\"" + traceparent + "\""),
            std::string::npos);
  EXPECT_NE(log.find(absl::StrCat(closed_port)), std::string::npos);
  int unavailable_lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "\"code\":\"UNAVAILABLE\"")) {
      ++unavailable_lines;
    }
  }
  EXPECT_GE(unavailable_lines, 1);
  EXPECT_LT(unavailable_lines, 50);
}

TEST(ObservabilityTest, AccessLogCarriesTheCallersIdsAndUndecodableBytesStayJson) {
  const std::string url = E2eDatabaseUrl();
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(url, {});
  ASSERT_NE(server, nullptr);
  const int admin_port = ParseAdminPort(server->process().Err());
  EXPECT_EQ(HttpGet(admin_port, "/readyz").status, 200);
  EXPECT_EQ(HttpGet(admin_port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(admin_port, "/nothing").status, 404);

  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::TutoringService::NewStub(channel);
  v1::GetUserRoleRequest request;
  request.set_user_id(1);
  v1::GetUserRoleResponse response;
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "caller-req-7");
  context.AddMetadata(
      "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(stub->GetUserRole(&context, request, &response).ok());

  // A string field with bytes that are not UTF-8: protobuf refuses the
  // request and logs; the lines stay JSON (checked when `server` goes) and
  // are rate-limited.
  grpc::GenericStub generic(channel);
  std::string bad;
  // Field 2 (programming_language), length-delimited.
  bad.push_back(static_cast<char>((2 << 3) | 2));
  const std::string invalid = "\xff\xfe\n\"}";
  bad.push_back(static_cast<char>(invalid.size()));
  bad += invalid;
  for (int i = 0; i < 40; ++i) {
    grpc::Slice slice(bad);
    grpc::ByteBuffer buffer(&slice, 1);
    grpc::ByteBuffer reply;
    grpc::ClientContext raw_context;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&raw_context,
                      "/tutoring.v1.TutoringService/ListExercises",
                      grpc::StubOptions(), &buffer, &reply,
                      [&](grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    EXPECT_FALSE(status.ok());
  }

  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(server->process().Err(),
                                 "\"request_id\":\"caller-req-7\"");
      },
      absl::Seconds(5)));
  const std::string log = server->process().Err();
  EXPECT_NE(log.find("\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-"
                     "b7ad6b7169203331-01\""),
            std::string::npos)
      << log;
  int protobuf_lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "\"source\":\"protobuf\"")) ++protobuf_lines;
  }
  EXPECT_LT(protobuf_lines, 40) << log;
}

}  // namespace
}  // namespace tutoring::testing
