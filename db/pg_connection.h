// One PostgreSQL connection driven without blocking: libpq's asynchronous
// connect (PQconnectStart/PQconnectPoll), then non-blocking pipeline mode,
// where every item sent (a prepared statement's execution, a PREPARE, a
// parameterless command) is followed by its own sync point, so an error
// aborts that item alone and each result is reported in the order sent.
//
// Internal to db/ (the connection pool). Not thread-safe: one event-loop
// thread drives a connection, waiting on socket() for the events
// WantedEvents() names and calling the matching methods.
#ifndef TUTORING_DB_PG_CONNECTION_H_
#define TUTORING_DB_PG_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

extern "C" {
struct pg_conn;
struct pg_cancel;
struct pg_result;
}

namespace tutoring::db {

// What a cancel request needs, kept apart from the connection so that
// another thread can send one while the connection works (PQcancel). Owns
// the libpq PGcancel.
class CancelHandle {
 public:
  explicit CancelHandle(pg_cancel* cancel) : cancel_(cancel) {}
  CancelHandle(const CancelHandle&) = delete;
  CancelHandle& operator=(const CancelHandle&) = delete;
  ~CancelHandle();

  // Asks the server to cancel what the connection's backend runs now.
  // Blocks until the server took the request (or the attempt failed);
  // thread-safe. OK once sent; UNAVAILABLE otherwise.
  absl::Status Send() const;

 private:
  pg_cancel* const cancel_;
};

class PgConnection {
 public:
  // Where a connection is in its life.
  enum class Phase {
    kConnecting,  // PQconnectPoll in progress
    kOpen,        // pipeline mode: items may be sent
    kBroken,      // failed; error() says why. Close it.
  };

  // Starts connecting to `conninfo` (checked beforehand by
  // WithConnectionDefaults). The result is kConnecting, or kBroken when
  // libpq could not even start.
  static std::unique_ptr<PgConnection> Start(const std::string& conninfo);

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  // Closes the socket (PQfinish).
  ~PgConnection();

  Phase phase() const { return phase_; }
  // The socket to wait on; -1 when broken. It may change while connecting.
  int socket() const;
  // EPOLLIN and/or EPOLLOUT: what to wait for before calling Continue().
  uint32_t WantedEvents() const;
  // Why the connection broke (one line, with libpq's reason).
  const absl::Status& error() const { return error_; }

  // Drives the connection after its socket became ready (or a spurious
  // wake-up): advances the connect, flushes what is buffered, reads what
  // arrived and reports each item's result to `on_result`, oldest first
  // (ownership passes). A null result stands for an item the connection
  // broke under: once broken, every item not yet reported is reported null
  // (call it after a failed Send* too). After it returns, phase() may be
  // kBroken.
  void Continue(absl::FunctionRef<void(pg_result*)> on_result);

  // Queues an item (nothing is written before Continue() or Flush()).
  // False if libpq refuses, which breaks the connection.
  // `binary_results`: rows in PostgreSQL's binary format, else text.
  bool SendPrepared(const std::string& statement,
                    absl::Span<const char* const> params, bool binary_results);
  bool SendPrepare(const std::string& statement, const std::string& sql);
  // `sql` with `params` (text) as an unnamed statement: parse, bind and
  // execute in one item (PQsendQueryParams).
  bool SendUnnamed(const std::string& sql,
                   absl::Span<const char* const> params, bool binary_results);
  bool SendCommand(const std::string& sql);
  // Writes what is buffered, as far as the socket takes it.
  void Flush();

  // Items sent whose result has not been reported.
  int items_in_flight() const { return items_in_flight_; }
  // PostgreSQL's process id of this session (0 before kOpen).
  int backend_pid() const;
  // For cancel requests (null before kOpen).
  const std::shared_ptr<CancelHandle>& cancel_handle() const {
    return cancel_handle_;
  }

 private:
  explicit PgConnection(pg_conn* connection) : connection_(connection) {}

  void Break(absl::string_view what);
  void ContinueConnect();
  void ReadResults(absl::FunctionRef<void(pg_result*)> on_result);
  bool Sync();

  pg_conn* const connection_;
  Phase phase_ = Phase::kConnecting;
  absl::Status error_;
  // While connecting: what PQconnectPoll waits for.
  bool connect_wants_write_ = true;
  // Buffered output not yet taken by the socket.
  bool wants_write_ = false;
  int items_in_flight_ = 0;
  // Where reading the current item stands: its result was reported and
  // the end-of-item NULL, or the sync after it, is still to come.
  enum class ReadPhase { kResult, kEnd, kSync };
  ReadPhase read_phase_ = ReadPhase::kResult;
  std::shared_ptr<CancelHandle> cancel_handle_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_PG_CONNECTION_H_
