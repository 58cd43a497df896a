// tutoring.v1.TutoringService on gRPC's completion-queue ("async") API, the
// shape of gRPC's own fastest C++ benchmark server: one completion queue per
// thread, one thread per core, requests posted ahead on every queue. A call
// is validated and handed to the transport-free TutoringService on the
// queue's thread; the database layer finishes it from its own thread
// (responder.Finish), and the queue's thread frees it when gRPC reports the
// call done. A client that cancels (or whose deadline passes) cancels the
// call's query, as with the callback adapter (server/grpc_service.h), which
// is the other choice (ServerOptions::grpc_api).
#ifndef TUTORING_SERVER_GRPC_ASYNC_SERVICE_H_
#define TUTORING_SERVER_GRPC_ASYNC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "server/admission.h"
#include "server/grpc_service.h"
#include "server/service.h"
#include "tutoring/v1/tutoring.grpc.pb.h"

namespace tutoring::server {

// Use: Register on the builder, BuildAndStart, Start; after the server's
// Shutdown, Stop. Thread-safe between those steps as the call objects need;
// `service`, `admission` and `clock` must outlive it.
class GrpcAsyncTutoringService {
 public:
  // Every method with requests and responses as bytes (parsed and
  // serialized by the calls themselves).
  using RawService = v1::TutoringService::WithRawMethod_ListActiveUsers<
      v1::TutoringService::WithRawMethod_ListUsersByRole<
          v1::TutoringService::WithRawMethod_GetUserRole<
              v1::TutoringService::WithRawMethod_ListExercises<
                  v1::TutoringService::WithRawMethod_GetStreak<
                      v1::TutoringService::WithRawMethod_BatchGetStreaks<
                          v1::TutoringService::Service>>>>>>;

  GrpcAsyncTutoringService(const TutoringService& service,
                           CallAdmission& admission, const Clock& clock,
                           GrpcServiceOptions options);
  GrpcAsyncTutoringService(const GrpcAsyncTutoringService&) = delete;
  GrpcAsyncTutoringService& operator=(const GrpcAsyncTutoringService&) = delete;
  ~GrpcAsyncTutoringService();

  // Registers the service and adds `threads` (>= 1) completion queues.
  void Register(grpc::ServerBuilder& builder, int threads);

  // After BuildAndStart: posts the first requests on every queue and starts
  // one thread per queue.
  void Start();

  // After the grpc::Server's Shutdown: waits for every call the database
  // layer still works on to finish (their deadlines bound this), then shuts
  // the queues down and joins the threads. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Call objects created and not yet freed (for Stop; and tests).
  void CallCreated() ABSL_LOCKS_EXCLUDED(mu_);
  void CallFreed() ABSL_LOCKS_EXCLUDED(mu_);

  const TutoringService& service() const { return service_; }
  CallAdmission& admission() const { return admission_; }
  const Clock& clock() const { return clock_; }
  const GrpcServiceOptions& options() const { return options_; }
  RawService& raw() { return raw_; }
  bool stopping() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool NoLiveCalls() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live_calls_ == 0;
  }

  // Constant after construction.
  const TutoringService& service_;
  CallAdmission& admission_;
  const Clock& clock_;
  const GrpcServiceOptions options_;

  RawService raw_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;

  mutable absl::Mutex mu_;
  int live_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_GRPC_ASYNC_SERVICE_H_
