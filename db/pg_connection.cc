#include "db/pg_connection.h"

#include <libpq-fe.h>
#include <sys/epoll.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "db/postgres/sql_state.h"

namespace tutoring::db {
namespace {

// libpq's messages span lines ("could not connect...\n\tIs the server
// running..."); logs and statuses take one.
std::string OneLineMessage(absl::string_view message) {
  return absl::StrJoin(absl::StrSplit(message, absl::ByAnyChar("\r\n\t"),
                                      absl::SkipWhitespace()),
                       " ");
}

}  // namespace

CancelHandle::~CancelHandle() { PQfreeCancel(cancel_); }

absl::Status CancelHandle::Send() const {
  char error[256] = {0};
  if (PQcancel(cancel_, error, sizeof(error)) == 1) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cancel request failed: ", OneLineMessage(error)));
}

std::unique_ptr<PgConnection> PgConnection::Start(const std::string& conninfo) {
  pg_conn* connection = PQconnectStart(conninfo.c_str());
  auto result = std::unique_ptr<PgConnection>(new PgConnection(connection));
  if (connection == nullptr) {
    result->phase_ = Phase::kBroken;
    result->error_ = ConnectionLossError(
        "connecting to the database", "libpq could not start (out of memory)");
  } else if (PQstatus(connection) == CONNECTION_BAD) {
    result->Break("connecting to the database");
  }
  return result;
}

PgConnection::~PgConnection() {
  if (connection_ != nullptr) PQfinish(connection_);
}

int PgConnection::socket() const {
  return phase_ == Phase::kBroken ? -1 : PQsocket(connection_);
}

uint32_t PgConnection::WantedEvents() const {
  switch (phase_) {
    case Phase::kConnecting:
      return connect_wants_write_ ? uint32_t{EPOLLOUT} : uint32_t{EPOLLIN};
    case Phase::kOpen:
      // Always readable-interest: a server that closes an idle connection
      // (restart, pg_terminate_backend) is noticed at once.
      return EPOLLIN | (wants_write_ ? uint32_t{EPOLLOUT} : uint32_t{0});
    case Phase::kBroken:
      return 0;
  }
  return 0;
}

int PgConnection::backend_pid() const {
  return phase_ == Phase::kOpen ? PQbackendPID(connection_) : 0;
}

void PgConnection::Break(absl::string_view what) {
  phase_ = Phase::kBroken;
  error_ = ConnectionLossError(
      what, connection_ == nullptr
                ? "no connection"
                : OneLineMessage(PQerrorMessage(connection_)));
}

void PgConnection::ContinueConnect() {
  switch (PQconnectPoll(connection_)) {
    case PGRES_POLLING_READING:
      connect_wants_write_ = false;
      return;
    case PGRES_POLLING_WRITING:
      connect_wants_write_ = true;
      return;
    case PGRES_POLLING_OK:
      if (PQsetnonblocking(connection_, 1) != 0 ||
          PQenterPipelineMode(connection_) != 1) {
        Break("entering pipeline mode");
        return;
      }
      cancel_handle_ = std::make_shared<CancelHandle>(PQgetCancel(connection_));
      phase_ = Phase::kOpen;
      return;
    case PGRES_POLLING_FAILED:
    default:
      Break("connecting to the database");
      return;
  }
}

void PgConnection::Continue(absl::FunctionRef<void(pg_result*)> on_result) {
  switch (phase_) {
    case Phase::kConnecting:
      ContinueConnect();
      return;
    case Phase::kOpen:
      if (wants_write_) Flush();
      if (phase_ == Phase::kOpen) ReadResults(on_result);
      break;
    case Phase::kBroken:
      break;
  }
  if (phase_ == Phase::kBroken) {
    // What was sent will never be answered; an item whose result was
    // already reported (its end or sync still to come) is not reported
    // again.
    int unreported = items_in_flight_;
    if (read_phase_ != ReadPhase::kResult) --unreported;
    items_in_flight_ = 0;
    read_phase_ = ReadPhase::kResult;
    for (; unreported > 0; --unreported) on_result(nullptr);
  }
}

void PgConnection::ReadResults(absl::FunctionRef<void(pg_result*)> on_result) {
  if (PQconsumeInput(connection_) != 1) {
    Break("reading from the database");
    return;
  }
  while (items_in_flight_ > 0 && PQisBusy(connection_) == 0) {
    pg_result* result = PQgetResult(connection_);
    if (result == nullptr) {
      if (read_phase_ == ReadPhase::kEnd) {
        read_phase_ = ReadPhase::kSync;
        continue;
      }
      // Nothing to take now; a connection that broke shows in its status.
      break;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (read_phase_ == ReadPhase::kSync) {
      PQclear(result);
      if (status == PGRES_PIPELINE_SYNC) {
        read_phase_ = ReadPhase::kResult;
        --items_in_flight_;
      }
      continue;
    }
    if (read_phase_ == ReadPhase::kEnd) {
      // A second result of one item (not sent by this service): ignored.
      PQclear(result);
      continue;
    }
    if (status == PGRES_PIPELINE_SYNC) {
      // A sync without a result before it: the item had none to give.
      PQclear(result);
      --items_in_flight_;
      on_result(nullptr);
      continue;
    }
    read_phase_ = ReadPhase::kEnd;
    on_result(result);
  }
  if (PQstatus(connection_) == CONNECTION_BAD) {
    Break("reading from the database");
  }
}

bool PgConnection::Sync() {
  if (PQpipelineSync(connection_) != 1) {
    Break("sending to the database");
    return false;
  }
  ++items_in_flight_;
  // PQpipelineSync flushes as far as the socket takes it; what is left
  // waits for the socket to become writable.
  wants_write_ = true;
  return true;
}

bool PgConnection::SendPrepared(const std::string& statement,
                                absl::Span<const char* const> params,
                                bool binary_results) {
  if (phase_ != Phase::kOpen) return false;
  if (PQsendQueryPrepared(connection_, statement.c_str(),
                          static_cast<int>(params.size()), params.data(),
                          nullptr, nullptr, binary_results ? 1 : 0) != 1) {
    Break("sending to the database");
    return false;
  }
  return Sync();
}

bool PgConnection::SendPrepare(const std::string& statement,
                               const std::string& sql) {
  if (phase_ != Phase::kOpen) return false;
  if (PQsendPrepare(connection_, statement.c_str(), sql.c_str(), 0, nullptr) !=
      1) {
    Break("preparing a statement");
    return false;
  }
  return Sync();
}

bool PgConnection::SendUnnamed(const std::string& sql,
                               absl::Span<const char* const> params,
                               bool binary_results) {
  if (phase_ != Phase::kOpen) return false;
  if (PQsendQueryParams(connection_, sql.c_str(),
                        static_cast<int>(params.size()), nullptr,
                        params.data(), nullptr, nullptr,
                        binary_results ? 1 : 0) != 1) {
    Break("sending to the database");
    return false;
  }
  return Sync();
}

bool PgConnection::SendCommand(const std::string& sql) {
  if (phase_ != Phase::kOpen) return false;
  if (PQsendQueryParams(connection_, sql.c_str(), 0, nullptr, nullptr, nullptr,
                        nullptr, 0) != 1) {
    Break("sending to the database");
    return false;
  }
  return Sync();
}

void PgConnection::Flush() {
  if (phase_ != Phase::kOpen) return;
  const int flushed = PQflush(connection_);
  if (flushed < 0) {
    Break("writing to the database");
    return;
  }
  wants_write_ = flushed == 1;
}

}  // namespace tutoring::db
