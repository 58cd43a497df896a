#include "db/query_result.h"

#include <libpq-fe.h>

namespace tutoring::db {

PgResult::~PgResult() { PQclear(result_); }

QueryResult::QueryResult(std::shared_ptr<const PgResult> result)
    : result_(std::move(result)) {}

QueryResult::QueryResult(std::shared_ptr<const PgResult> result,
                         std::vector<int> rows, int skip_columns)
    : result_(std::move(result)),
      all_rows_(false),
      rows_(std::move(rows)),
      skip_columns_(skip_columns) {}

int QueryResult::rows() const {
  return all_rows_ ? PQntuples(result_->get()) : static_cast<int>(rows_.size());
}

int QueryResult::columns() const {
  return PQnfields(result_->get()) - skip_columns_;
}

absl::string_view QueryResult::Get(int row, int column) const {
  const int r = RowIndex(row);
  const int c = column + skip_columns_;
  return absl::string_view(PQgetvalue(result_->get(), r, c),
                           PQgetlength(result_->get(), r, c));
}

bool QueryResult::IsNull(int row, int column) const {
  return PQgetisnull(result_->get(), RowIndex(row), column + skip_columns_) !=
         0;
}

}  // namespace tutoring::db
