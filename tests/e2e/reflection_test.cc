// Server reflection (v1 and v1alpha) of the tutoring-server binary over a
// real socket: the protocol, checked against this process's generated
// descriptor pool as ground truth (the test links the same generated code
// the server does), and the cost of idle streams in server threads.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"
#include "tests/support/test_database.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::testing {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::util::MessageDifferencer;

// The two protocol versions, as type parameters.
struct V1 {
  using Service = grpc::reflection::v1::ServerReflection;
  using Request = grpc::reflection::v1::ServerReflectionRequest;
  using Response = grpc::reflection::v1::ServerReflectionResponse;
};
struct V1Alpha {
  using Service = grpc::reflection::v1alpha::ServerReflection;
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;
};

absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

// "Threads:" of /proc/<pid>/status, or -1.
int ThreadCount(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::string_view(line).substr(0, 8) == "Threads:") {
      int threads = -1;
      if (absl::SimpleAtoi(absl::string_view(line).substr(8), &threads)) {
        return threads;
      }
    }
  }
  return -1;
}

// The file names a stream would deliver for `file` first on a fresh
// stream: its transitive dependencies and itself.
void Closure(const FileDescriptor* file, std::set<std::string>& names) {
  if (!names.insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    Closure(file->dependency(i), names);
  }
}

template <typename Version>
class ReflectionProtocol : public ::testing::Test {
 protected:
  using Request = typename Version::Request;
  using Response = typename Version::Response;
  using Stream = grpc::ClientReaderWriter<Request, Response>;

  static void SetUpTestSuite() {
    server_ = ServerProcess::Start(E2eDatabaseUrl(), {}).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    stub_ = Version::Service::NewStub(grpc::CreateChannel(
        server_->target(), grpc::InsecureChannelCredentials()));
    context_.set_deadline(absl::ToChronoTime(Deadline()));
    stream_ = stub_->ServerReflectionInfo(&context_);
  }

  // Sends `request` and reads its answer on the test's stream.
  Response Ask(const Request& request) {
    Response response;
    EXPECT_TRUE(stream_->Write(request));
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }
  Response AskSymbol(const std::string& symbol) {
    Request request;
    request.set_file_containing_symbol(symbol);
    return Ask(request);
  }

  // Half-closes the stream and expects it to end OK with no more answers.
  void CloseOk() {
    ASSERT_TRUE(stream_->WritesDone());
    Response extra;
    EXPECT_FALSE(stream_->Read(&extra));
    const grpc::Status status = stream_->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The files of a file_descriptor_response, parsed, in order.
  static std::vector<FileDescriptorProto> Files(const Response& response) {
    std::vector<FileDescriptorProto> files;
    EXPECT_TRUE(response.has_file_descriptor_response())
        << response.DebugString();
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      files.push_back(std::move(file));
    }
    return files;
  }

  // Each file equals the generated pool's copy of the file of that name.
  static void ExpectMatchesPool(const std::vector<FileDescriptorProto>& files) {
    for (const FileDescriptorProto& file : files) {
      const FileDescriptor* truth =
          DescriptorPool::generated_pool()->FindFileByName(file.name());
      ASSERT_NE(truth, nullptr) << file.name();
      FileDescriptorProto expected;
      truth->CopyTo(&expected);
      EXPECT_TRUE(MessageDifferencer::Equals(file, expected)) << file.name();
    }
  }

  static ServerProcess* server_;
  std::unique_ptr<typename Version::Service::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
};

template <typename Version>
ServerProcess* ReflectionProtocol<Version>::server_ = nullptr;

using Versions = ::testing::Types<V1, V1Alpha>;
TYPED_TEST_SUITE(ReflectionProtocol, Versions);

TYPED_TEST(ReflectionProtocol, ListsTheServedServices) {
  typename TestFixture::Request request;
  request.set_list_services("");
  const auto response = this->Ask(request);
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.insert(service.name());
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"grpc.health.v1.Health",
                                   "grpc.reflection.v1.ServerReflection",
                                   "grpc.reflection.v1alpha.ServerReflection",
                                   "tutoring.v1.TutoringService"}));
  this->CloseOk();
}

// A fresh stream delivers the file and all it depends on, dependencies
// first, each equal to the generated pool's copy.
TYPED_TEST(ReflectionProtocol, FileByFilenameMatchesTheDescriptorPool) {
  typename TestFixture::Request request;
  request.set_file_by_filename("tutoring/v1/tutoring.proto");
  const auto files = TestFixture::Files(this->Ask(request));
  ASSERT_FALSE(files.empty());
  std::set<std::string> expected_names;
  Closure(tutoring::v1::User::descriptor()->file(), expected_names);
  std::set<std::string> names;
  for (const auto& file : files) names.insert(file.name());
  EXPECT_EQ(names, expected_names);
  EXPECT_EQ(files.size(), expected_names.size());  // each file once
  TestFixture::ExpectMatchesPool(files);
  // Dependencies first: a new pool can build them in the order received.
  DescriptorPool pool;
  for (const auto& file : files) {
    EXPECT_NE(pool.BuildFile(file), nullptr) << file.name();
  }
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, FileContainingSymbolFindsEveryKindOfSymbol) {
  const std::vector<std::string> symbols = {
      "tutoring.v1.TutoringService",                       // service
      "tutoring.v1.TutoringService.GetUserRole",           // method
      "tutoring.v1.User",                                  // message
      "tutoring.v1.User.email",                            // field
      "tutoring.v1.Role",                                  // enum
      "tutoring.v1.ROLE_STUDENT",                          // enum value
      "grpc.health.v1.Health",                             // health
      "grpc.health.v1.HealthCheckResponse.ServingStatus",  // nested enum
      "grpc.reflection.v1alpha.ServerReflection",
      "grpc.reflection.v1.ServerReflectionRequest",
      "google.protobuf.Timestamp",
  };
  for (const std::string& symbol : symbols) {
    const FileDescriptor* truth =
        DescriptorPool::generated_pool()->FindFileContainingSymbol(symbol);
    ASSERT_NE(truth, nullptr) << symbol;
    const auto files = TestFixture::Files(this->AskSymbol(symbol));
    ASSERT_FALSE(files.empty()) << symbol;
    // The file asked for comes last, after dependencies not sent before.
    EXPECT_EQ(files.back().name(), truth->name()) << symbol;
    TestFixture::ExpectMatchesPool(files);
  }
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, DependenciesAreSentOncePerStream) {
  const auto first =
      TestFixture::Files(this->AskSymbol("tutoring.v1.TutoringService"));
  ASSERT_GT(first.size(), 1u);  // tutoring.proto imports timestamp.proto
  const auto again =
      TestFixture::Files(this->AskSymbol("tutoring.v1.GetStreakRequest"));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].name(), "tutoring/v1/tutoring.proto");
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, UnknownSymbolIsNotFoundAndTheStreamGoesOn) {
  const auto missing = this->AskSymbol("tutoring.v1.NoSuchThing");
  EXPECT_EQ(missing.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  typename TestFixture::Request request;
  request.set_file_by_filename("no/such/file.proto");
  EXPECT_EQ(this->Ask(request).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.mutable_file_containing_extension()->set_containing_type(
      "tutoring.v1.User");
  request.mutable_file_containing_extension()->set_extension_number(12345);
  EXPECT_EQ(this->Ask(request).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_all_extension_numbers_of_type("tutoring.v1.NoSuchThing");
  EXPECT_EQ(this->Ask(request).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(TestFixture::Files(this->AskSymbol("tutoring.v1.User")).empty());
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, EmptyRequestIsInvalidArgument) {
  const auto response = this->Ask(typename TestFixture::Request());
  EXPECT_EQ(response.error_response().error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, AllExtensionNumbersMatchTheDescriptorPool) {
  const google::protobuf::Descriptor* type =
      google::protobuf::FieldOptions::descriptor();
  std::vector<const google::protobuf::FieldDescriptor*> extensions;
  DescriptorPool::generated_pool()->FindAllExtensions(type, &extensions);
  std::multiset<int> expected;
  for (const auto* extension : extensions) expected.insert(extension->number());
  typename TestFixture::Request request;
  request.set_all_extension_numbers_of_type(type->full_name());
  const auto response = this->Ask(request);
  ASSERT_TRUE(response.has_all_extension_numbers_response())
      << response.DebugString();
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(),
            type->full_name());
  const auto& numbers = response.all_extension_numbers_response();
  EXPECT_EQ(std::multiset<int>(numbers.extension_number().begin(),
                               numbers.extension_number().end()),
            expected);
  this->CloseOk();
}

TYPED_TEST(ReflectionProtocol, EchoesHostAndOriginalRequest) {
  typename TestFixture::Request request;
  request.set_host("reflection.example");
  request.set_file_containing_symbol("tutoring.v1.Streak");
  const auto response = this->Ask(request);
  EXPECT_EQ(response.valid_host(), "reflection.example");
  EXPECT_TRUE(MessageDifferencer::Equals(response.original_request(), request));
  this->CloseOk();
}

// More requests than the server queues answers for, all written before any
// answer is read: every answer comes, in order, then the stream ends OK.
TYPED_TEST(ReflectionProtocol, PipelinedRequestsAreAnsweredInOrder) {
  const std::vector<std::string> symbols = {
      "tutoring.v1.TutoringService", "tutoring.v1.NoSuchThing",
      "grpc.health.v1.Health", "google.protobuf.Timestamp",
      "grpc.reflection.v1.ServerReflection"};
  std::vector<typename TestFixture::Request> requests;
  for (int i = 0; i < 100; ++i) {
    typename TestFixture::Request request;
    request.set_host(absl::StrCat("h", i));
    request.set_file_containing_symbol(symbols[i % symbols.size()]);
    requests.push_back(request);
    ASSERT_TRUE(this->stream_->Write(request)) << i;
  }
  ASSERT_TRUE(this->stream_->WritesDone());
  for (size_t i = 0; i < requests.size(); ++i) {
    typename TestFixture::Response response;
    ASSERT_TRUE(this->stream_->Read(&response)) << i;
    EXPECT_TRUE(
        MessageDifferencer::Equals(response.original_request(), requests[i]))
        << i;
    EXPECT_EQ(response.has_error_response(), i % symbols.size() == 1) << i;
  }
  typename TestFixture::Response extra;
  EXPECT_FALSE(this->stream_->Read(&extra));
  EXPECT_TRUE(this->stream_->Finish().ok());
}

// A client that cancels with answers still queued on the server leaves a
// server that answers the next stream.
TYPED_TEST(ReflectionProtocol, CancelWithAnswersQueuedLeavesServerAnswering) {
  for (int round = 0; round < 20; ++round) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(Deadline()));
    auto stream = this->stub_->ServerReflectionInfo(&context);
    typename TestFixture::Request request;
    request.set_file_by_filename("tutoring/v1/tutoring.proto");
    for (int i = 0; i < 64; ++i) ASSERT_TRUE(stream->Write(request));
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_FALSE(
      TestFixture::Files(this->AskSymbol("tutoring.v1.TutoringService"))
          .empty());
  this->CloseOk();
}

// --- Idle streams ------------------------------------------------------------

// Streams on one completion queue, driven one at a time (an idle stream has
// no operation pending, so the next event is the one waited for).
class IdleStreams {
 public:
  explicit IdleStreams(const std::string& target) {
    // Several connections, so that a per-connection stream limit would not
    // decide the outcome.
    for (int i = 0; i < kChannels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("tutoring.test.channel", i);
      channels_.push_back(grpc::CreateCustomChannel(
          target, grpc::InsecureChannelCredentials(), args));
    }
  }
  ~IdleStreams() {
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  // Opens a reflection stream on `Version`, sends list_services and reads
  // the answer; the stream then stays open. False if any step failed.
  template <typename Version>
  bool OpenReflection(int i) {
    auto call = std::make_unique<ReflectionCall<Version>>();
    auto stub = Version::Service::NewStub(channels_[i % kChannels]);
    call->stream = stub->AsyncServerReflectionInfo(&call->context, &queue_,
                                                   Tag(call.get()));
    if (!Await(call.get())) return false;
    typename Version::Request request;
    request.set_list_services("");
    call->stream->Write(request, Tag(call.get()));
    if (!Await(call.get())) return false;
    call->stream->Read(&call->response, Tag(call.get()));
    if (!Await(call.get())) return false;
    const bool answered =
        call->response.list_services_response().service_size() > 0;
    calls_.push_back(std::move(call));
    return answered;
  }

  // Opens a health Watch ("" = the whole server) and reads its first status.
  bool OpenWatch(int i) {
    auto call = std::make_unique<WatchCall>();
    auto stub = grpc::health::v1::Health::NewStub(channels_[i % kChannels]);
    call->stream =
        stub->AsyncWatch(&call->context, grpc::health::v1::HealthCheckRequest(),
                         &queue_, Tag(call.get()));
    if (!Await(call.get())) return false;
    call->stream->Read(&call->response, Tag(call.get()));
    if (!Await(call.get())) return false;
    const bool serving = call->response.status() ==
                         grpc::health::v1::HealthCheckResponse::SERVING;
    calls_.push_back(std::move(call));
    return serving;
  }

  // Ends every stream: reflection streams alternately half-closed (must end
  // OK) and cancelled (must end CANCELLED), watches cancelled. The number
  // that ended otherwise.
  int CloseAll() {
    int wrong = 0;
    for (size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_[i]->Close(i % 2 == 0, queue_)) ++wrong;
    }
    calls_.clear();
    return wrong;
  }

 private:
  static constexpr int kChannels = 16;

  struct Call {
    virtual ~Call() = default;
    // Half-close (if it can and `half_close`) or cancel, then Finish.
    virtual bool Close(bool half_close, grpc::CompletionQueue& queue) = 0;
    grpc::ClientContext context;
  };
  template <typename Version>
  struct ReflectionCall : Call {
    bool Close(bool half_close, grpc::CompletionQueue& queue) override {
      grpc::Status status;
      if (half_close) {
        stream->WritesDone(this);
        if (!AwaitOn(queue, this)) return false;
      } else {
        context.TryCancel();
      }
      stream->Finish(&status, this);
      AwaitOn(queue, this);
      return half_close ? status.ok()
                        : status.error_code() == grpc::StatusCode::CANCELLED;
    }
    std::unique_ptr<grpc::ClientAsyncReaderWriter<typename Version::Request,
                                                  typename Version::Response>>
        stream;
    typename Version::Response response;
  };
  struct WatchCall : Call {
    bool Close(bool /*half_close*/, grpc::CompletionQueue& queue) override {
      grpc::Status status;
      context.TryCancel();
      stream->Finish(&status, this);
      AwaitOn(queue, this);
      return status.error_code() == grpc::StatusCode::CANCELLED;
    }
    std::unique_ptr<
        grpc::ClientAsyncReader<grpc::health::v1::HealthCheckResponse>>
        stream;
    grpc::health::v1::HealthCheckResponse response;
  };

  static void* Tag(Call* call) { return call; }

  // Waits for the event of `call`; its ok bit (false on timeout or an
  // unexpected tag).
  static bool AwaitOn(grpc::CompletionQueue& queue, Call* call) {
    void* tag = nullptr;
    bool ok = false;
    if (queue.AsyncNext(&tag, &ok, absl::ToChronoTime(Deadline())) !=
        grpc::CompletionQueue::GOT_EVENT) {
      return false;
    }
    return tag == call && ok;
  }
  bool Await(Call* call) { return AwaitOn(queue_, call); }

  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<Call>> calls_;
};

// Idle reflection streams (both versions) and health watches cost the
// server no thread each: the thread count stays near where one stream of
// each left it, every stream is answered, all end cleanly, and the server
// answers afterwards.
TEST(ReflectionStreams, IdleStreamsHoldNoServerThread) {
  constexpr int kStreamsPerKind = 500;
  constexpr int kThreadMargin = 16;
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(E2eDatabaseUrl(), {});
  ASSERT_NE(server, nullptr);
  const pid_t pid = server->process().pid();
  {
    // Warm up: one stream of each kind, so threads gRPC starts lazily for
    // the first call of a kind are in the baseline.
    IdleStreams warm(server->target());
    ASSERT_TRUE(warm.OpenReflection<V1>(0));
    ASSERT_TRUE(warm.OpenReflection<V1Alpha>(0));
    ASSERT_TRUE(warm.OpenWatch(0));
    EXPECT_EQ(warm.CloseAll(), 0);
  }
  const int baseline = ThreadCount(pid);
  ASSERT_GT(baseline, 0);

  IdleStreams streams(server->target());
  int answered = 0;
  for (int i = 0; i < kStreamsPerKind; ++i) {
    answered += streams.OpenReflection<V1>(i);
    answered += streams.OpenReflection<V1Alpha>(i);
    answered += streams.OpenWatch(i);
  }
  EXPECT_EQ(answered, 3 * kStreamsPerKind);
  const int with_streams = ThreadCount(pid);
  EXPECT_LT(with_streams, baseline + kThreadMargin)
      << "baseline " << baseline << " threads";

  EXPECT_EQ(streams.CloseAll(), 0);
  IdleStreams after(server->target());
  EXPECT_TRUE(after.OpenReflection<V1>(0));
  EXPECT_TRUE(after.OpenReflection<V1Alpha>(0));
  EXPECT_EQ(after.CloseAll(), 0);
  EXPECT_LT(ThreadCount(pid), baseline + kThreadMargin);
}

}  // namespace
}  // namespace tutoring::testing
