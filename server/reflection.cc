#include "server/reflection.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace tutoring::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

// Responses a stream queues before it stops reading: a client that pipelines
// requests without reading the answers is held to this much memory.
constexpr size_t kMaxQueuedResponses = 16;

// Adds `file` and, first, the dependencies not yet sent on this stream.
template <typename Response>
void AddFile(const FileDescriptor* file, absl::flat_hash_set<std::string>& sent,
             Response& response) {
  if (!sent.insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i), sent, response);
  }
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(
      response.mutable_file_descriptor_response()->add_file_descriptor_proto());
}

template <typename Response>
void SetError(grpc::StatusCode code, std::string message, Response& response) {
  response.mutable_error_response()->set_error_code(code);
  response.mutable_error_response()->set_error_message(std::move(message));
}

template <typename Response>
void SendFile(const FileDescriptor* file, absl::string_view what,
              absl::flat_hash_set<std::string>& sent, Response& response) {
  if (file == nullptr) {
    SetError(grpc::StatusCode::NOT_FOUND, absl::StrCat(what, " not found"),
             response);
    return;
  }
  // A file sent earlier on the stream is sent again when asked for directly.
  sent.erase(file->name());
  AddFile(file, sent, response);
}

// The answer to one request. `sent`: the files this stream has delivered.
template <typename Request, typename Response>
Response Answer(const Request& request,
                const std::vector<std::string>& services,
                absl::flat_hash_set<std::string>& sent) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  Response response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case Request::kFileByFilename:
      SendFile(pool->FindFileByName(request.file_by_filename()),
               absl::StrCat("file ", request.file_by_filename()), sent,
               response);
      break;
    case Request::kFileContainingSymbol:
      SendFile(pool->FindFileContainingSymbol(request.file_containing_symbol()),
               absl::StrCat("symbol ", request.file_containing_symbol()), sent,
               response);
      break;
    case Request::kFileContainingExtension: {
      const auto& extension = request.file_containing_extension();
      const Descriptor* type =
          pool->FindMessageTypeByName(extension.containing_type());
      const FieldDescriptor* field =
          type == nullptr
              ? nullptr
              : pool->FindExtensionByNumber(type, extension.extension_number());
      SendFile(field == nullptr ? nullptr : field->file(),
               absl::StrCat("extension ", extension.extension_number(), " of ",
                            extension.containing_type()),
               sent, response);
      break;
    }
    case Request::kAllExtensionNumbersOfType: {
      const Descriptor* type =
          pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("type ", request.all_extension_numbers_of_type(),
                              " not found"),
                 response);
        break;
      }
      std::vector<const FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const FieldDescriptor* extension : extensions) {
        numbers->add_extension_number(extension->number());
      }
      break;
    }
    case Request::kListServices:
      for (const std::string& name : services) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      break;
    default:
      // Unset, or a kind of request newer than this proto (unknown field).
      SetError(grpc::StatusCode::INVALID_ARGUMENT,
               "message_request must be one of file_by_filename, "
               "file_containing_symbol, file_containing_extension, "
               "all_extension_numbers_of_type, list_services",
               response);
      break;
  }
  return response;
}

// One ServerReflectionInfo stream. Reads one request at a time; each answer
// is queued and written in order, one write outstanding at a time (the
// callback API's rule). At every moment a read is outstanding, a write is
// in flight, or the stream has finished, so a cancelled call always gets a
// failed operation and reaches Finish (then OnDone deletes the reactor).
template <typename Request, typename Response>
class ReflectionReactor final
    : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit ReflectionReactor(const std::vector<std::string>& services)
      : services_(services) {
    absl::MutexLock lock(&mu_);
    read_outstanding_ = true;
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // Half-close or cancellation: finish once the queue is written.
      absl::MutexLock lock(&mu_);
      read_outstanding_ = false;
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    // request_ and sent_ belong to the read side: no other read is
    // outstanding, and OnWriteDone starts one only after this one ends.
    Response response = Answer<Request, Response>(request_, services_, sent_);
    absl::MutexLock lock(&mu_);
    read_outstanding_ = false;
    if (write_failed_) {
      MaybeFinishLocked();
      return;
    }
    queue_.push_back(std::move(response));
    if (queue_.size() == 1) this->StartWrite(&queue_.front());
    MaybeReadLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) {
      // The call is broken (cancelled, or the client went away).
      write_failed_ = true;
      queue_.clear();
      MaybeFinishLocked();
      return;
    }
    if (!queue_.empty()) this->StartWrite(&queue_.front());
    MaybeReadLocked();
    MaybeFinishLocked();
  }

  void OnDone() override { delete this; }

 private:
  void MaybeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (read_outstanding_ || reads_done_ || write_failed_ ||
        queue_.size() >= kMaxQueuedResponses) {
      return;
    }
    read_outstanding_ = true;
    this->StartRead(&request_);
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || read_outstanding_ || !queue_.empty()) return;
    if (!reads_done_ && !write_failed_) return;
    finished_ = true;
    this->Finish(grpc::Status::OK);
  }

  // Constant after construction.
  const std::vector<std::string>& services_;

  // Read side: used only while a read completes (see OnReadDone).
  Request request_;
  absl::flat_hash_set<std::string> sent_;

  absl::Mutex mu_;
  // Answers not yet written; the front one is being written. A deque keeps
  // the front's address while answers are appended.
  std::deque<Response> queue_ ABSL_GUARDED_BY(mu_);
  bool read_outstanding_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// The generated callback service of one reflection version.
template <typename Service, typename Request, typename Response>
class VersionService final : public Service::CallbackService {
 public:
  explicit VersionService(const std::vector<std::string>& services)
      : services_(services) {}

  grpc::ServerBidiReactor<Request, Response>* ServerReflectionInfo(
      grpc::CallbackServerContext* /*context*/) override {
    // The callback API's ownership model: the reactor deletes itself in
    // OnDone.
    return new ReflectionReactor<Request, Response>(services_);
  }

 private:
  const std::vector<std::string>& services_;
};

namespace v1 = grpc::reflection::v1;
namespace v1alpha = grpc::reflection::v1alpha;

}  // namespace

ReflectionServices::ReflectionServices(std::vector<std::string> services)
    : services_(std::move(services)),
      v1_(std::make_unique<
          VersionService<v1::ServerReflection, v1::ServerReflectionRequest,
                         v1::ServerReflectionResponse>>(services_)),
      v1alpha_(std::make_unique<VersionService<
                   v1alpha::ServerReflection, v1alpha::ServerReflectionRequest,
                   v1alpha::ServerReflectionResponse>>(services_)) {}

ReflectionServices::~ReflectionServices() = default;

void ReflectionServices::RegisterWith(grpc::ServerBuilder& builder) {
  builder.RegisterService(v1_.get());
  builder.RegisterService(v1alpha_.get());
}

}  // namespace tutoring::server
