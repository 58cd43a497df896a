// tutoring-bench's HTTP/2 client over TLS (OpenSSL, ALPN h2) against an
// in-process gRPC server with gRPC's own TLS credentials: server
// verification, client certificates, and the bearer token header (checked
// by an AuthMetadataProcessor on the server). Certificates are made at test
// time by tests/security/make_test_certs.sh.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/load_generator.h"
#include "bench/loadgen/request_mix.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::bench {
namespace {

namespace fs = std::filesystem;
constexpr int kOk = 0;
constexpr int kUnauthenticated = 16;
constexpr char kToken[] = "dashboard.0123456789abcdef0123";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Accepts exactly "authorization: Bearer <kToken>" when `require` is set.
class TokenCheck : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata*, OutputMetadata*) override {
    const auto it = metadata.find("authorization");
    if (it != metadata.end() &&
        std::string(it->second.data(), it->second.size()) ==
            absl::StrCat("Bearer ", kToken)) {
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token");
  }
};

class TlsLoadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern =
        (fs::temp_directory_path() / "tutoring-bench-tls-XXXXXX").string();
    pki_ = new fs::path(mkdtemp(pattern.data()));
    const testing::ProcessResult made = testing::RunProcess(
        {absl::StrCat(std::getenv("TUTORING_SOURCE_DIR"),
                      "/tests/security/make_test_certs.sh"),
         pki_->string()});
    ASSERT_TRUE(made.exited && made.exit_code == 0) << made.err;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*pki_);
    delete pki_;
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
    }
  }

  void StartServer(bool require_client_cert, bool require_token) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::SslServerCredentialsOptions ssl(
        require_client_cert
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_root_certs = ReadFile(*pki_ / "ca.pem");
    ssl.pem_key_cert_pairs.push_back(
        {ReadFile(*pki_ / "server.key"), ReadFile(*pki_ / "server.pem")});
    std::shared_ptr<grpc::ServerCredentials> credentials =
        grpc::SslServerCredentials(ssl);
    if (require_token) {
      credentials->SetAuthMetadataProcessor(std::make_shared<TokenCheck>());
    }
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    // Some service with synchronous methods, so that gRPC polls for the
    // health service's calls too.
    builder.RegisterService(&unimplemented_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  LoadOptions Options(TlsSettings tls) {
    LoadOptions options;
    options.target = absl::StrCat("127.0.0.1:", port_);
    options.mix = *ParseMix("Health");
    options.concurrency = 8;
    options.connections = 2;
    options.total = 400;
    options.tls = std::move(tls);
    return options;
  }

  static fs::path* pki_;
  v1::TutoringService::Service unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

fs::path* TlsLoadTest::pki_ = nullptr;

TEST_F(TlsLoadTest, CallsSucceedOverTlsWithTheRightCa) {
  StartServer(false, false);
  // By IP (the certificate carries 127.0.0.1) and by name.
  for (const std::string name : {"", "localhost"}) {
    absl::StatusOr<LoadReport> report =
        RunLoad(Options({(*pki_ / "ca.pem").string(), "", "", name}));
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->all.codes[kOk], 400) << name;
  }
}

TEST_F(TlsLoadTest, WrongCaOrWrongNameIsRefused) {
  StartServer(false, false);
  EXPECT_EQ(RunLoad(Options({(*pki_ / "other-ca.pem").string(), "", "", ""}))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(RunLoad(Options({(*pki_ / "ca.pem").string(), "", "",
                             "elsewhere.test"}))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(RunLoad(Options({(*pki_ / "missing.pem").string(), "", "", ""}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsLoadTest, ClientCertificateForMutualTls) {
  StartServer(true, false);
  absl::StatusOr<LoadReport> report = RunLoad(
      Options({(*pki_ / "ca.pem").string(), (*pki_ / "dashboard.pem").string(),
               (*pki_ / "dashboard.key").string(), ""}));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->all.codes[kOk], 400);
  // Without one the server ends the handshake: no call gets through.
  absl::StatusOr<LoadReport> without =
      RunLoad(Options({(*pki_ / "ca.pem").string(), "", "", ""}));
  EXPECT_TRUE(!without.ok() || without->all.codes[kOk] == 0);
}

TEST_F(TlsLoadTest, BearerTokenGoesOnEveryCall) {
  StartServer(false, true);
  LoadOptions options = Options({(*pki_ / "ca.pem").string(), "", "", ""});
  absl::StatusOr<LoadReport> without = RunLoad(options);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(without->all.codes[kUnauthenticated], 400);
  options.bearer_token = kToken;
  absl::StatusOr<LoadReport> with = RunLoad(options);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(with->all.codes[kOk], 400);
}

}  // namespace
}  // namespace tutoring::bench
