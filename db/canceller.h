// Cancel requests sent off the event loops. libpq 15's PQcancel opens a
// connection of its own and blocks until the server has taken the request
// (forever, if the server is stalled); the connection pool's event loops
// must never block, so requests go to a few threads of this class, which
// nobody ever waits for.
#ifndef TUTORING_DB_CANCELLER_H_
#define TUTORING_DB_CANCELLER_H_

#include <memory>

#include "absl/time/time.h"
#include "db/pg_connection.h"

namespace tutoring::db {

// Thread-safe.
class Canceller {
 public:
  // `threads` requests may be in progress at once; up to `max_queued` more
  // wait, and further ones are dropped (cancel requests are best effort:
  // statement_timeout is the backstop).
  explicit Canceller(int threads = 2, int max_queued = 256);
  Canceller(const Canceller&) = delete;
  Canceller& operator=(const Canceller&) = delete;
  // Drops queued requests and lets the threads go without waiting for
  // them: one stuck on a stalled server must not hold up a shutdown.
  ~Canceller();

  // Queues a cancel request for what `handle`'s backend runs when it
  // arrives. False if it was not queued: one for the same handle already
  // waits (not yet started), or the queue is full.
  bool Send(std::shared_ptr<CancelHandle> handle);

  // Waits up to `timeout` until no request is queued or in progress (true)
  // or gives up (false). For a shutdown: a process that exits while a
  // cancel request is on its way drops that request's socket early, which
  // PgBouncer 1.18 (Debian 12's) does not survive (it exits with "bad client
  // state: 0", pgbouncer issue 801).
  bool Drain(absl::Duration timeout);

 private:
  struct State;
  const std::shared_ptr<State> state_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_CANCELLER_H_
