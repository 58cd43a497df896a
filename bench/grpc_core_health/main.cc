// grpc-core-health-bench: grpc.health.v1.Health/Check in a closed loop
// through gRPC's own client, using its leanest API (the core C API: a
// registered method, one batch and one completion per call, a pre-built
// request, one polling thread). It exists to measure what tutoring-bench
// would cost had it been built on the gRPC library: see
// bench/health_vs_h2load.sh --with-grpc-client and docs/PERFORMANCE.md.
//
// Exit status: 0 when every call succeeded, 1 when some failed (or a call
// could not be started), tutoring::kExitUsage (64) for a bad command line.
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/command_line.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port of the server");
ABSL_FLAG(int, connections, 2,
          "channels, each its own HTTP/2 connection (distinct channel args); "
          ">= 1");
ABSL_FLAG(int, concurrency, 128,
          "calls in flight, spread over the channels; >= connections");
ABSL_FLAG(int64_t, total, 200000, "calls to make; >= 1");

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

grpc_arg IntegerArg(const char* key, int value) {
  grpc_arg arg;
  arg.type = GRPC_ARG_INTEGER;
  arg.key = const_cast<char*>(key);
  arg.value.integer = value;
  return arg;
}

// One call's buffers, reused call after call.
struct Slot {
  grpc_call* call = nullptr;
  int channel = 0;
  grpc_metadata_array initial_metadata;
  grpc_metadata_array trailing_metadata;
  grpc_byte_buffer* response = nullptr;
  grpc_status_code status = GRPC_STATUS_OK;
  grpc_slice details;
};

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args =
      tutoring::ParseCommandLine(
          argc, argv,
          "Closed-loop grpc.health.v1.Health/Check through gRPC's core "
          "client.\n"
          "Usage: grpc-core-health-bench --target=host:port [--connections=N] "
          "[--concurrency=N] [--total=N]",
          {})
          .positional;
  if (!args.empty()) {
    tutoring::ExitUsageError(
        absl::StrCat("unexpected argument \"", args[0], "\""));
  }
  const std::string target = absl::GetFlag(FLAGS_target);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int64_t total = absl::GetFlag(FLAGS_total);
  tutoring::ExitIfUsageError(
      tutoring::RequireAtLeast("connections", connections, 1));
  tutoring::ExitIfUsageError(
      tutoring::RequireAtLeast("concurrency", concurrency, connections));
  tutoring::ExitIfUsageError(tutoring::RequireAtLeast("total", total, 1));

  grpc_init();
  grpc_completion_queue* cq = grpc_completion_queue_create_for_next(nullptr);
  std::vector<grpc_channel*> channels;
  std::vector<void*> methods;
  for (int i = 0; i < connections; ++i) {
    // A distinct channel id and a local subchannel pool keep the channels
    // from sharing one connection; retries off and the minimal stack drop
    // per-call work a load generator does not need.
    grpc_arg args[] = {IntegerArg(GRPC_ARG_CHANNEL_ID, i),
                       IntegerArg(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1),
                       IntegerArg(GRPC_ARG_ENABLE_RETRIES, 0),
                       IntegerArg(GRPC_ARG_MINIMAL_STACK, 1)};
    const grpc_channel_args channel_args = {sizeof(args) / sizeof(args[0]),
                                            args};
    grpc_channel_credentials* credentials = grpc_insecure_credentials_create();
    channels.push_back(
        grpc_channel_create(target.c_str(), credentials, &channel_args));
    grpc_channel_credentials_release(credentials);
    methods.push_back(grpc_channel_register_call(
        channels.back(), "/grpc.health.v1.Health/Check", nullptr, nullptr));
  }
  // HealthCheckRequest{service: ""} serializes to nothing.
  grpc_slice empty = grpc_empty_slice();
  grpc_byte_buffer* request = grpc_raw_byte_buffer_create(&empty, 1);

  std::vector<Slot> slots(concurrency);
  int64_t started = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  int in_flight = 0;
  auto start = [&](Slot& slot) {
    slot.call = grpc_channel_create_registered_call(
        channels[slot.channel], nullptr, GRPC_PROPAGATE_DEFAULTS, cq,
        methods[slot.channel], gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
    grpc_op ops[6];
    std::memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata =
        &slot.initial_metadata;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &slot.response;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata =
        &slot.trailing_metadata;
    ops[5].data.recv_status_on_client.status = &slot.status;
    ops[5].data.recv_status_on_client.status_details = &slot.details;
    if (grpc_call_start_batch(slot.call, ops, 6, &slot, nullptr) !=
        GRPC_CALL_OK) {
      std::fprintf(stderr, "grpc-core-health-bench: start_batch failed\n");
      std::exit(1);
    }
    ++started;
    ++in_flight;
  };

  const int64_t begin_ns = NowNs();
  for (int i = 0; i < concurrency; ++i) {
    grpc_metadata_array_init(&slots[i].initial_metadata);
    grpc_metadata_array_init(&slots[i].trailing_metadata);
    slots[i].channel = i % connections;
    if (started < total) start(slots[i]);
  }
  while (in_flight > 0) {
    const grpc_event event = grpc_completion_queue_next(
        cq, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
    if (event.type != GRPC_OP_COMPLETE) continue;
    Slot& slot = *static_cast<Slot*>(event.tag);
    --in_flight;
    (slot.status == GRPC_STATUS_OK ? ok : failed) += 1;
    if (slot.response != nullptr) grpc_byte_buffer_destroy(slot.response);
    slot.response = nullptr;
    grpc_slice_unref(slot.details);
    // The arrays keep their capacity; their entries belonged to the call.
    slot.initial_metadata.count = 0;
    slot.trailing_metadata.count = 0;
    grpc_call_unref(slot.call);
    if (started < total) start(slot);
  }
  const double seconds = static_cast<double>(NowNs() - begin_ns) / 1e9;
  std::printf("calls %lld errors %lld seconds %.3f qps %.1f\n",
              static_cast<long long>(ok + failed),
              static_cast<long long>(failed), seconds, (ok + failed) / seconds);

  for (Slot& slot : slots) {
    grpc_metadata_array_destroy(&slot.initial_metadata);
    grpc_metadata_array_destroy(&slot.trailing_metadata);
  }
  grpc_byte_buffer_destroy(request);
  for (grpc_channel* channel : channels) grpc_channel_destroy(channel);
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                    nullptr)
             .type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
  grpc_shutdown();
  return failed == 0 ? 0 : 1;
}
