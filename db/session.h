// Internal to db/: what a ConnectionPool task receives. Not installed, not
// included outside db/*.cc, so libpqxx stays private to this component.
#ifndef TUTORING_DB_SESSION_H_
#define TUTORING_DB_SESSION_H_

#include <pqxx/pqxx>

#include "db/connection_pool.h"

namespace tutoring::db {

// A connection lent to one task, valid only while the task runs. The
// connection has the pool's prepared statements and session settings.
class Session {
 public:
  Session(pqxx::connection& connection, const CallContext& call)
      : connection_(connection), call_(call) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  pqxx::connection& connection() { return connection_; }
  const CallContext& call() const { return call_; }

 private:
  pqxx::connection& connection_;
  const CallContext& call_;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_SESSION_H_
