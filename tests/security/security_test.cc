// TLS, mTLS, authorization and connection flags of tutoring-server, as
// clients meet them: the built binary over a real socket against the
// seeded e2e database, certificates made at test time by
// tests/security/make_test_certs.sh (openssl) in a temporary folder, calls
// through tutoring::Client (the shipped client) and raw gRPC stubs where a
// test needs the connection's details. Allowed answers are compared with
// SQL; denied calls must carry no data.
#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "grpc/reflection/v1/reflection.pb.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/support/eventually.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kUnusedDatabase[] = "postgresql://nobody@127.0.0.1:1/none";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Replaces `path` atomically (write beside it, rename), as a secret
// rotation does.
void ReplaceFile(const fs::path& path, const std::string& contents) {
  const fs::path temporary = path.string() + ".new";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  fs::rename(temporary, path);
}

// The throw-away PKI and token file of make_test_certs.sh, made once per
// test binary in a temporary folder that is removed at the end.
class Pki {
 public:
  static const Pki& Get() {
    static const Pki* pki = new Pki();
    return *pki;
  }
  fs::path operator/(const std::string& name) const { return dir_ / name; }
  // Line `n` (1-based, after the comment line) of the token file.
  std::string Token(int n) const {
    std::istringstream in(ReadFile(dir_ / "tokens"));
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      if (++seen == n) return line;
    }
    return "";
  }
  const fs::path& dir() const { return dir_; }

 private:
  Pki() {
    std::string pattern =
        (fs::temp_directory_path() / "tutoring-security-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    const ProcessResult made = RunProcess(
        {absl::StrCat(std::getenv("TUTORING_SOURCE_DIR"),
                      "/tests/security/make_test_certs.sh"),
         dir_.string()});
    EXPECT_TRUE(made.exited && made.exit_code == 0) << made.err;
    std::atexit([] { fs::remove_all(Get().dir_); });
  }
  fs::path dir_;
};

std::string ExamplePolicy() {
  return absl::StrCat(std::getenv("TUTORING_SOURCE_DIR"),
                      "/docs/examples/authz_policy.json");
}

struct Identity {
  std::string cert;  // file names in the PKI folder; "" for none
  std::string key;
  std::string ca = "ca.pem";
  std::string token;
};

std::unique_ptr<Client> MakeClient(const ServerProcess& server,
                                   const Identity& who,
                                   const std::string& target = "") {
  const Pki& pki = Pki::Get();
  ClientOptions options;
  options.target = target.empty() ? server.target() : target;
  options.retry.max_attempts = 1;
  options.default_deadline = absl::Seconds(10);
  TlsOptions tls;
  tls.ca_file = (pki / who.ca).string();
  if (!who.cert.empty()) {
    tls.cert_file = (pki / who.cert).string();
    tls.key_file = (pki / who.key).string();
  }
  options.tls = tls;
  options.bearer_token = who.token;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

const Identity kDashboard{"dashboard.pem", "dashboard.key", "ca.pem", ""};
const Identity kGenerator{"exercise-generator.pem", "exercise-generator.key",
                          "ca.pem", ""};

// Ground truth from SQL.
struct UserTruth {
  int64_t id = 0;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  bool is_active = false;
};

UserTruth SomeUser() {
  pqxx::connection connection(E2eDatabaseUrl());
  pqxx::nontransaction tx(connection);
  const pqxx::row row = tx.exec1(
      "SELECT id, role::text, is_active FROM users WHERE role = 'instructor' "
      "ORDER BY id LIMIT 1");
  UserTruth truth;
  truth.id = row[0].as<int64_t>();
  const std::string role = row[1].as<std::string>();
  truth.role = role == "student"      ? v1::ROLE_STUDENT
               : role == "instructor" ? v1::ROLE_INSTRUCTOR
                                      : v1::ROLE_ADMIN;
  truth.is_active = row[2].as<bool>();
  return truth;
}

std::vector<int64_t> FirstEasyExercises(int n) {
  pqxx::connection connection(E2eDatabaseUrl());
  pqxx::nontransaction tx(connection);
  std::vector<int64_t> ids;
  for (const pqxx::row& row :
       tx.exec(absl::StrCat("SELECT id FROM exercises WHERE difficulty = "
                            "'easy' ORDER BY id LIMIT ",
                            n))) {
    ids.push_back(row[0].as<int64_t>());
  }
  return ids;
}

// GetUserRole through `client`: OK with the SQL answer, or the error code
// (a denied call must not carry data, which absl::StatusOr guarantees).
absl::StatusCode GetUserRoleCode(const Client& client) {
  const UserTruth truth = SomeUser();
  v1::GetUserRoleRequest request;
  request.set_user_id(truth.id);
  absl::StatusOr<v1::GetUserRoleResponse> response =
      client.GetUserRole(request);
  if (!response.ok()) return response.status().code();
  EXPECT_EQ(response->user_id(), truth.id);
  EXPECT_EQ(response->role(), truth.role);
  EXPECT_EQ(response->is_active(), truth.is_active);
  return absl::StatusCode::kOk;
}

absl::StatusCode ListExercisesCode(const Client& client) {
  v1::ListExercisesRequest request;
  request.set_difficulty(v1::DIFFICULTY_EASY);
  request.set_page_size(5);
  absl::StatusOr<v1::ListExercisesResponse> response =
      client.ListExercises(request);
  if (!response.ok()) return response.status().code();
  std::vector<int64_t> ids;
  for (const v1::Exercise& e : response->exercises()) ids.push_back(e.id());
  EXPECT_EQ(ids, FirstEasyExercises(5));
  return absl::StatusCode::kOk;
}

std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> flags) {
  flags.push_back("--security-reload-interval=1s");
  return ServerProcess::Start(E2eDatabaseUrl(), flags);
}

std::vector<std::string> TlsFlags(bool mtls) {
  const Pki& pki = Pki::Get();
  std::vector<std::string> flags = {
      absl::StrCat("--tls-cert=", (pki / "server.pem").string()),
      absl::StrCat("--tls-key=", (pki / "server.key").string())};
  if (mtls) {
    flags.push_back(absl::StrCat("--tls-client-ca=", (pki / "ca.pem").string()));
  }
  return flags;
}

std::vector<std::string> With(std::vector<std::string> flags,
                              const std::vector<std::string>& more) {
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// --- TLS ---------------------------------------------------------------

TEST(Tls, ClientTrustingTheCaGetsAnswers) {
  std::unique_ptr<ServerProcess> server = StartServer(TlsFlags(false));
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> client = MakeClient(*server, {});
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(GetUserRoleCode(*client), absl::StatusCode::kOk);
  EXPECT_EQ(client->CheckHealth().value_or(ServingStatus::kUnknown),
            ServingStatus::kServing);
}

TEST(Tls, ServerNameOverrideChecksThatName) {
  std::unique_ptr<ServerProcess> server = StartServer(TlsFlags(false));
  ASSERT_NE(server, nullptr);
  const Pki& pki = Pki::Get();
  for (const auto& [name, want] :
       std::vector<std::pair<std::string, absl::StatusCode>>{
           {"localhost", absl::StatusCode::kOk},
           {"elsewhere.test", absl::StatusCode::kUnavailable}}) {
    ClientOptions options;
    options.target = absl::StrCat("localhost:", server->port());
    options.retry.max_attempts = 1;
    options.tls = TlsOptions{(pki / "ca.pem").string(), "", "", name};
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_EQ(GetUserRoleCode(**client), want) << name;
  }
}

TEST(Tls, ClientTrustingAnotherCaIsRefused) {
  std::unique_ptr<ServerProcess> server = StartServer(TlsFlags(false));
  ASSERT_NE(server, nullptr);
  Identity wrong_ca;
  wrong_ca.ca = "other-ca.pem";
  std::unique_ptr<Client> client = MakeClient(*server, wrong_ca);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(GetUserRoleCode(*client), absl::StatusCode::kUnavailable);
}

TEST(Tls, PlaintextClientIsRefused) {
  std::unique_ptr<ServerProcess> server = StartServer(TlsFlags(false));
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.target = server->target();
  options.retry.max_attempts = 1;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(GetUserRoleCode(**client), absl::StatusCode::kUnavailable);
}

TEST(Tls, MutualTlsRequiresACertificateTheCaSigned) {
  std::unique_ptr<ServerProcess> server = StartServer(TlsFlags(true));
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> without = MakeClient(*server, {});
  EXPECT_EQ(GetUserRoleCode(*without), absl::StatusCode::kUnavailable);
  std::unique_ptr<Client> stranger =
      MakeClient(*server, {"stranger.pem", "stranger.key", "ca.pem", ""});
  EXPECT_EQ(GetUserRoleCode(*stranger), absl::StatusCode::kUnavailable);
  std::unique_ptr<Client> dashboard = MakeClient(*server, kDashboard);
  EXPECT_EQ(GetUserRoleCode(*dashboard), absl::StatusCode::kOk);
}

// The common name of the certificate the server presents to a new
// connection ("" when the call fails).
std::string ServedCommonName(const ServerProcess& server) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(Pki::Get() / "ca.pem");
  grpc::ChannelArguments args;
  // A channel of its own: a new connection, not one shared from gRPC's
  // global subchannel pool.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      server.target(), grpc::SslCredentials(ssl), args);
  auto stub = v1::TutoringService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetUserRoleRequest request;
  request.set_user_id(SomeUser().id);
  v1::GetUserRoleResponse response;
  if (!stub->GetUserRole(&context, request, &response).ok()) return "";
  std::vector<grpc::string_ref> names =
      context.auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  return names.empty() ? "" : std::string(names[0].data(), names[0].size());
}

TEST(Tls, CertificateReplacedOnDiskIsServedWithoutRestart) {
  const Pki& pki = Pki::Get();
  const fs::path dir = pki.dir() / "rotating";
  fs::create_directories(dir);
  ReplaceFile(dir / "tls.key", ReadFile(pki / "server.key"));
  ReplaceFile(dir / "tls.crt", ReadFile(pki / "server.pem"));
  std::unique_ptr<ServerProcess> server =
      StartServer({absl::StrCat("--tls-cert=", (dir / "tls.crt").string()),
                   absl::StrCat("--tls-key=", (dir / "tls.key").string())});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(ServedCommonName(*server), "server-1");

  ReplaceFile(dir / "tls.key", ReadFile(pki / "server-2.key"));
  ReplaceFile(dir / "tls.crt", ReadFile(pki / "server-2.pem"));
  std::string served;
  EXPECT_TRUE(Eventually(
      [&] {
        served = ServedCommonName(*server);
        return served == "server-2";
      },
      absl::Seconds(30), absl::Milliseconds(200)))
      << "still served: " << served;
  // Same process: it was never restarted.
  EXPECT_FALSE(server->process().WaitFor(absl::ZeroDuration()).has_value());
}

// --- Authorization -------------------------------------------------------

TEST(Authz, EachCertificateIdentityGetsItsMethodsOnly) {
  std::unique_ptr<ServerProcess> server = StartServer(
      With(TlsFlags(true), {absl::StrCat("--authz-policy=", ExamplePolicy())}));
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> dashboard = MakeClient(*server, kDashboard);
  std::unique_ptr<Client> generator = MakeClient(*server, kGenerator);
  EXPECT_EQ(GetUserRoleCode(*dashboard), absl::StatusCode::kOk);
  EXPECT_EQ(ListExercisesCode(*dashboard),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ListExercisesCode(*generator), absl::StatusCode::kOk);
  EXPECT_EQ(GetUserRoleCode(*generator), absl::StatusCode::kPermissionDenied);
  // Health is allowed to every client by the example policy.
  EXPECT_EQ(generator->CheckHealth().value_or(ServingStatus::kUnknown),
            ServingStatus::kServing);
}

TEST(Authz, BearerTokensAreVerifiedThenJudgedByThePolicy) {
  const Pki& pki = Pki::Get();
  std::unique_ptr<ServerProcess> server = StartServer(
      With(TlsFlags(false),
           {absl::StrCat("--authz-policy=", ExamplePolicy()),
            absl::StrCat("--token-file=", (pki / "tokens").string())}));
  ASSERT_NE(server, nullptr);
  const std::string dashboard_token = pki.Token(1);
  const std::string reporting_token = pki.Token(2);
  ASSERT_EQ(dashboard_token.rfind("dashboard.", 0), 0u);

  Identity who;
  who.token = dashboard_token;
  std::unique_ptr<Client> dashboard = MakeClient(*server, who);
  EXPECT_EQ(GetUserRoleCode(*dashboard), absl::StatusCode::kOk);
  EXPECT_EQ(ListExercisesCode(*dashboard),
            absl::StatusCode::kPermissionDenied);

  // A valid token of an identity the policy grants nothing.
  who.token = reporting_token;
  EXPECT_EQ(GetUserRoleCode(*MakeClient(*server, who)),
            absl::StatusCode::kPermissionDenied);
  // No token, no certificate: nothing but health.
  EXPECT_EQ(GetUserRoleCode(*MakeClient(*server, {})),
            absl::StatusCode::kPermissionDenied);
  // A forged token claiming the dashboard identity, and a valid token with
  // a byte changed, are refused before the policy sees them.
  who.token = "dashboard.this-is-not-a-valid-secret";
  EXPECT_EQ(GetUserRoleCode(*MakeClient(*server, who)),
            absl::StatusCode::kUnauthenticated);
  who.token = dashboard_token;
  who.token.back() = who.token.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(GetUserRoleCode(*MakeClient(*server, who)),
            absl::StatusCode::kUnauthenticated);

  // Two authorization headers, one valid: refused, whatever the order.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(pki / "ca.pem");
  auto stub = v1::TutoringService::NewStub(
      grpc::CreateChannel(server->target(), grpc::SslCredentials(ssl)));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + dashboard_token);
  context.AddMetadata("authorization", "Bearer dashboard.forged-forged-forged");
  v1::GetUserRoleRequest request;
  request.set_user_id(SomeUser().id);
  v1::GetUserRoleResponse response;
  EXPECT_EQ(stub->GetUserRole(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(response.user_id(), 0);
}

TEST(Authz, PolicyEditedAtRunTimeTakesEffect) {
  const Pki& pki = Pki::Get();
  const fs::path policy = pki.dir() / "edited_policy.json";
  const std::string original = ReadFile(ExamplePolicy());
  ReplaceFile(policy, original);
  std::unique_ptr<ServerProcess> server = StartServer(
      With(TlsFlags(true), {absl::StrCat("--authz-policy=", policy.string())}));
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> generator = MakeClient(*server, kGenerator);
  ASSERT_EQ(GetUserRoleCode(*generator), absl::StatusCode::kPermissionDenied);

  // Grant the generator GetUserRole too.
  ReplaceFile(policy,
              absl::StrReplaceAll(
                  original, {{"\"/tutoring.v1.TutoringService/ListExercises\"",
                              "\"/tutoring.v1.TutoringService/ListExercises\", "
                              "\"/tutoring.v1.TutoringService/GetUserRole\""}}));
  EXPECT_TRUE(Eventually(
      [&] { return GetUserRoleCode(*generator) == absl::StatusCode::kOk; },
      absl::Seconds(30), absl::Milliseconds(200)));

  // A broken edit is refused and logged; the last good policy stays.
  ReplaceFile(policy, "{\"name\": \"broken\", \"allow_rules\": [{\"nam\": 1}]}");
  EXPECT_TRUE(server->process().WaitForErr("authz policy not reloaded",
                                           absl::Seconds(30)));
  EXPECT_EQ(GetUserRoleCode(*generator), absl::StatusCode::kOk);

  // Back to the original: denied again.
  ReplaceFile(policy, original);
  EXPECT_TRUE(Eventually(
      [&] {
        return GetUserRoleCode(*generator) ==
               absl::StatusCode::kPermissionDenied;
      },
      absl::Seconds(30), absl::Milliseconds(200)));
}

TEST(Authz, TokenFileRotationTakesEffect) {
  const Pki& pki = Pki::Get();
  const fs::path tokens = pki.dir() / "rotating_tokens";
  const std::string old_token = pki.Token(1);
  const std::string new_token = "dashboard.rotated-secret-0123456789abcdef";
  ReplaceFile(tokens, old_token + "\n");
  std::unique_ptr<ServerProcess> server = StartServer(
      With(TlsFlags(false), {absl::StrCat("--authz-policy=", ExamplePolicy()),
                             absl::StrCat("--token-file=", tokens.string())}));
  ASSERT_NE(server, nullptr);
  Identity old_identity;
  old_identity.token = old_token;
  Identity new_identity;
  new_identity.token = new_token;
  std::unique_ptr<Client> old_client = MakeClient(*server, old_identity);
  std::unique_ptr<Client> new_client = MakeClient(*server, new_identity);
  EXPECT_EQ(GetUserRoleCode(*old_client), absl::StatusCode::kOk);
  EXPECT_EQ(GetUserRoleCode(*new_client), absl::StatusCode::kUnauthenticated);
  // Rotation: both, then only the new one.
  ReplaceFile(tokens, old_token + "\n" + new_token + "\n");
  EXPECT_TRUE(Eventually(
      [&] { return GetUserRoleCode(*new_client) == absl::StatusCode::kOk; },
      absl::Seconds(30), absl::Milliseconds(200)));
  EXPECT_EQ(GetUserRoleCode(*old_client), absl::StatusCode::kOk);
  ReplaceFile(tokens, new_token + "\n");
  EXPECT_TRUE(Eventually(
      [&] {
        return GetUserRoleCode(*old_client) ==
               absl::StatusCode::kUnauthenticated;
      },
      absl::Seconds(30), absl::Milliseconds(200)));
  EXPECT_EQ(GetUserRoleCode(*new_client), absl::StatusCode::kOk);
}

// --- Reflection and connections --------------------------------------------

// One ServerReflectionInfo exchange (list services) on `method`: the status.
grpc::StatusCode ReflectionCode(const std::string& target,
                                const std::string& method) {
  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_list_services("");
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto call = stub.PrepareUnaryCall(&context, method, buffer, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status.error_code();
}

TEST(Reflection, FlagTurnsBothVersionsOff) {
  for (const bool on : {true, false}) {
    std::unique_ptr<ServerProcess> server = ServerProcess::Start(
        E2eDatabaseUrl(), {absl::StrCat("--reflection=", on)});
    ASSERT_NE(server, nullptr);
    for (const std::string method :
         {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
          "/grpc.reflection.v1alpha.ServerReflection/"
          "ServerReflectionInfo"}) {
      EXPECT_EQ(ReflectionCode(server->target(), method),
                on ? grpc::StatusCode::OK : grpc::StatusCode::UNIMPLEMENTED)
          << method << " reflection=" << on;
    }
  }
}

TEST(Connections, MaxConnectionAgeEndsAConnection) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(
      E2eDatabaseUrl(),
      {"--max-connection-age=1s", "--max-connection-age-grace=1s"});
  ASSERT_NE(server, nullptr);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      server->target(), grpc::InsecureChannelCredentials(), args);
  ASSERT_TRUE(channel->WaitForConnected(
      absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
  // GOAWAY after about a second: the channel leaves READY by itself.
  EXPECT_TRUE(Eventually(
      [&] { return channel->GetState(false) != GRPC_CHANNEL_READY; },
      absl::Seconds(20), absl::Milliseconds(50)));
}

// --- Flags -----------------------------------------------------------------

ProcessResult RunServer(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {BinaryPath("TUTORING_SERVER_BIN"),
                                   "--listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunProcess(argv, {absl::StrCat("DATABASE_URL=", kUnusedDatabase)});
}

void ExpectUsageError(const std::vector<std::string>& flags,
                      const std::string& names) {
  const ProcessResult result = RunServer(flags);
  EXPECT_TRUE(result.exited) << "killed by a signal:\n" << result.err;
  EXPECT_EQ(result.exit_code, 64) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
  EXPECT_THAT(result.err, HasSubstr(names));
}

TEST(SecurityFlags, BadValuesAreOneLineUsageErrors) {
  const Pki& pki = Pki::Get();
  const std::string cert = (pki / "server.pem").string();
  const std::string key = (pki / "server.key").string();
  const std::string missing = (pki.dir() / "missing.pem").string();
  const fs::path bad_tokens = pki.dir() / "bad_tokens";
  ReplaceFile(bad_tokens, "dashboard.short\n");
  const fs::path bad_policy = pki.dir() / "bad_policy.json";
  ReplaceFile(bad_policy, "{\"name\": \"x\"}");

  ExpectUsageError({"--tls-cert=" + missing, "--tls-key=" + key}, "--tls-cert");
  ExpectUsageError({"--tls-cert=" + cert, "--tls-key=" + missing}, "--tls-key");
  ExpectUsageError({"--tls-cert=" + cert}, "--tls-key");
  ExpectUsageError({"--tls-cert=" + key, "--tls-key=" + key}, "--tls-cert");
  ExpectUsageError(
      {"--tls-cert=" + cert, "--tls-key=" + (pki / "server-2.key").string()},
      "--tls-key");
  ExpectUsageError(
      {"--tls-cert=" + cert, "--tls-key=" + key, "--tls-client-ca=" + missing},
      "--tls-client-ca");
  ExpectUsageError({"--authz-policy=" + ExamplePolicy()}, "--authz-policy");
  ExpectUsageError({"--tls-cert=" + cert, "--tls-key=" + key,
                    "--authz-policy=" + bad_policy.string()},
                   "--authz-policy");
  ExpectUsageError({"--tls-cert=" + cert, "--tls-key=" + key,
                    "--token-file=" + bad_tokens.string()},
                   "--token-file");
  ExpectUsageError({"--tls-cert=" + cert, "--tls-key=" + key,
                    "--security-reload-interval=500ms"},
                   "--security-reload-interval");
  ExpectUsageError({"--max-connection-age=0s"}, "--max-connection-age");
  ExpectUsageError({"--max-connection-age-grace=-1s"},
                   "--max-connection-age-grace");
  ExpectUsageError({"--keepalive-time=0s"}, "--keepalive-time");
  ExpectUsageError({"--keepalive-timeout=inf"}, "--keepalive-timeout");
}

}  // namespace
}  // namespace tutoring::testing
