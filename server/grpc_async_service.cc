#include "server/grpc_async_service.h"

#include <google/protobuf/arena.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "db/call_context.h"
#include "server/admission.h"
#include "server/grpc_status.h"

namespace tutoring::server {
namespace {

// Requests kept posted per method and queue: calls arriving together need
// not wait for the queue's thread to post the next.
constexpr int kPostedPerMethod = 8;

google::protobuf::ArenaOptions ArenaOptionsFor(char* block, size_t size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

// What a completion-queue tag stands for.
enum class Event { kRequest, kFinish, kDone };

class CallBase {
 public:
  virtual ~CallBase() = default;
  virtual void Proceed(Event event, bool ok) = 0;
};

// A tag: the call and which of its events completed.
struct Tag {
  CallBase* call;
  Event event;
};

using RawService = GrpcAsyncTutoringService::RawService;

// Posts a request for one call of a method (RawService::RequestX, whose
// member pointers belong to different base classes, behind one signature).
// Requests and responses travel as bytes: the call parses and serializes
// them itself, so a body that is not a valid message is answered
// INVALID_ARGUMENT with a message (gRPC's own parsing answers INTERNAL
// "Unable to parse request", outside the call telemetry).
using RequestMethod = void (*)(RawService&, grpc::ServerContext*,
                               grpc::ByteBuffer*,
                               grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>*,
                               grpc::ServerCompletionQueue*, void*);

template <typename Request, typename Response>
using LogicMethod = void (TutoringService::*)(const Request&, Response*,
                                              std::shared_ptr<db::CallContext>,
                                              TutoringService::Done) const;

// One call of one method, from its posted request to its end. Lives until
// both the finish and the done tag are back (or the request fails at
// shutdown); only its queue's thread touches it but for Complete, which the
// database layer calls once, from any thread.
template <typename Request, typename Response>
class AsyncUnaryCall final : public CallBase {
 public:
  AsyncUnaryCall(GrpcAsyncTutoringService& owner,
                 grpc::ServerCompletionQueue* queue,
                 RequestMethod request_method,
                 LogicMethod<Request, Response> logic)
      : owner_(owner),
        queue_(queue),
        request_method_(request_method),
        logic_(logic),
        arena_(ArenaOptionsFor(initial_block_, sizeof(initial_block_))),
        request_(google::protobuf::Arena::CreateMessage<Request>(&arena_)),
        response_(google::protobuf::Arena::CreateMessage<Response>(&arena_)),
        responder_(&context_) {
    owner_.CallCreated();
    context_.AsyncNotifyWhenDone(&done_tag_);
    request_method_(owner_.raw(), &context_, &request_bytes_, &responder_,
                    queue_, &request_tag_);
  }
  ~AsyncUnaryCall() override { owner_.CallFreed(); }

  void Proceed(Event event, bool ok) override {
    switch (event) {
      case Event::kRequest:
        if (!ok) {
          // Shutting down: no call came, and no done tag will.
          delete this;
          return;
        }
        // Keep a request posted for the next call of this method.
        if (!owner_.stopping()) {
          new AsyncUnaryCall(owner_, queue_, request_method_, logic_);
        }
        Run();
        return;
      case Event::kFinish:
        Release();
        return;
      case Event::kDone:
        // The client went away (or its deadline passed) before the answer:
        // stop the database work.
        if (context_.IsCancelled() && call_ != nullptr) call_->Cancel();
        Release();
        return;
    }
  }

 private:
  void Run() {
    pending_ = 2;  // the finish and the done tag
    if (absl::Status parsed = ParseRequest(request_bytes_, request_);
        !parsed.ok()) {
      Complete(parsed);
      return;
    }
    request_bytes_.Clear();
    batch_ids_ = AdmissionBatchIds(*request_);
    if (!AdmitCall(owner_.admission(), batch_ids_,
                   [this](absl::Status status) { Complete(status); })) {
      return;
    }
    admitted_ = true;
    call_ = std::make_shared<db::CallContext>(
        CallDeadline(context_.deadline(), owner_.clock().Now(),
                     owner_.options().default_deadline));
    (owner_.service().*logic_)(
        *request_, response_, call_,
        [this](absl::Status status) { Complete(status); });
  }

  // Runs once per call, on any thread.
  void Complete(const absl::Status& status) {
    if (admitted_) owner_.admission().Finished(batch_ids_);
    if (!status.ok()) {
      responder_.FinishWithError(ToGrpcStatus(status), &finish_tag_);
      return;
    }
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    if (grpc::Status serialized =
            grpc::SerializationTraits<Response>::Serialize(*response_, &bytes,
                                                           &own_buffer);
        !serialized.ok()) {
      responder_.FinishWithError(serialized, &finish_tag_);
      return;
    }
    responder_.Finish(bytes, grpc::Status::OK, &finish_tag_);
  }

  void Release() {
    if (--pending_ == 0) delete this;
  }

  GrpcAsyncTutoringService& owner_;
  grpc::ServerCompletionQueue* const queue_;
  const RequestMethod request_method_;
  const LogicMethod<Request, Response> logic_;

  grpc::ServerContext context_;
  // The request and response, with every string and sub-message, live on
  // the call's arena: one allocation for the call instead of one per field
  // (a page of 50 users is hundreds).
  alignas(8) char initial_block_[4096];
  google::protobuf::Arena arena_;
  Request* const request_;
  Response* const response_;
  grpc::ByteBuffer request_bytes_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  std::shared_ptr<db::CallContext> call_;
  // Set on the queue's thread before the call can complete.
  int batch_ids_ = 0;
  bool admitted_ = false;
  // Tags outstanding; touched only on the queue's thread.
  int pending_ = 0;
  Tag request_tag_{this, Event::kRequest};
  Tag finish_tag_{this, Event::kFinish};
  Tag done_tag_{this, Event::kDone};
};

template <typename Request, typename Response>
void Post(GrpcAsyncTutoringService& owner, grpc::ServerCompletionQueue* queue,
          RequestMethod request_method,
          LogicMethod<Request, Response> logic) {
  for (int i = 0; i < kPostedPerMethod; ++i) {
    new AsyncUnaryCall<Request, Response>(owner, queue, request_method, logic);
  }
}

}  // namespace

GrpcAsyncTutoringService::GrpcAsyncTutoringService(
    const TutoringService& service, CallAdmission& admission,
    const Clock& clock, GrpcServiceOptions options)
    : service_(service),
      admission_(admission),
      clock_(clock),
      options_(options) {}

GrpcAsyncTutoringService::~GrpcAsyncTutoringService() { Stop(); }

void GrpcAsyncTutoringService::Register(grpc::ServerBuilder& builder,
                                        int threads) {
  builder.RegisterService(&raw_);
  for (int i = 0; i < threads; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

void GrpcAsyncTutoringService::Start() {
  for (auto& queue_ptr : queues_) {
    grpc::ServerCompletionQueue* queue = queue_ptr.get();
#define TUTORING_POST(Method, RequestType, ResponseType)                 \
  Post<v1::RequestType, v1::ResponseType>(                               \
      *this, queue,                                                      \
      [](RawService& raw, grpc::ServerContext* context,                  \
         grpc::ByteBuffer* request,                                      \
         grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder,   \
         grpc::ServerCompletionQueue* cq, void* tag) {                   \
        raw.Request##Method(context, request, responder, cq, cq, tag);   \
      },                                                                 \
      &TutoringService::Method)
    TUTORING_POST(ListActiveUsers, ListActiveUsersRequest,
                  ListActiveUsersResponse);
    TUTORING_POST(ListUsersByRole, ListUsersByRoleRequest,
                  ListUsersByRoleResponse);
    TUTORING_POST(GetUserRole, GetUserRoleRequest, GetUserRoleResponse);
    TUTORING_POST(ListExercises, ListExercisesRequest, ListExercisesResponse);
    TUTORING_POST(GetStreak, GetStreakRequest, Streak);
    TUTORING_POST(BatchGetStreaks, BatchGetStreaksRequest,
                  BatchGetStreaksResponse);
#undef TUTORING_POST
    threads_.emplace_back([queue] {
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) {
        Tag* t = static_cast<Tag*>(tag);
        t->call->Proceed(t->event, ok);
      }
    });
  }
}

void GrpcAsyncTutoringService::CallCreated() {
  absl::MutexLock lock(&mu_);
  ++live_calls_;
}

void GrpcAsyncTutoringService::CallFreed() {
  absl::MutexLock lock(&mu_);
  --live_calls_;
}

bool GrpcAsyncTutoringService::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void GrpcAsyncTutoringService::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    // Calls the database layer still works on finish by their deadlines
    // (the server's shutdown cancelled them); posted requests come back
    // failed. Then nothing will add to the queues any more.
    mu_.Await(absl::Condition(this, &GrpcAsyncTutoringService::NoLiveCalls));
  }
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) thread.join();
  // Drained by the threads; nothing is left to free.
}

}  // namespace tutoring::server
