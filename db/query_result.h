// The rows one call gets back from the connection pool: a view of the rows
// of a libpq result that belong to the call (all of them for a statement of
// its own; its share when its statement answered several calls at once).
#ifndef TUTORING_DB_QUERY_RESULT_H_
#define TUTORING_DB_QUERY_RESULT_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

extern "C" {
struct pg_result;
}

namespace tutoring::db {

// Owns a libpq result (PGresult); shared by the views of the calls it
// answers.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  pg_result* get() const { return result_; }

 private:
  pg_result* const result_;
};

// Read-only and cheap to copy. Values are text (libpq's text format);
// Get() of a NULL is "". Valid as long as any copy lives; safe to read from
// any thread once handed over.
class QueryResult {
 public:
  // Every row of `result`, columns as they are.
  explicit QueryResult(std::shared_ptr<const PgResult> result);
  // The rows `rows` of `result`, with the first `skip_columns` columns
  // hidden (a coalesced statement's entry number).
  QueryResult(std::shared_ptr<const PgResult> result, std::vector<int> rows,
              int skip_columns);

  int rows() const;
  int columns() const;
  absl::string_view Get(int row, int column) const;
  bool IsNull(int row, int column) const;

 private:
  int RowIndex(int row) const { return all_rows_ ? row : rows_[row]; }

  std::shared_ptr<const PgResult> result_;
  bool all_rows_ = true;
  std::vector<int> rows_;
  int skip_columns_ = 0;
};

}  // namespace tutoring::db

#endif  // TUTORING_DB_QUERY_RESULT_H_
