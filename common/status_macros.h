// Small helpers for code that returns absl::Status / absl::StatusOr<T>.
// Debian's Abseil (20220623) does not ship status macros of its own.
#ifndef TUTORING_COMMON_STATUS_MACROS_H_
#define TUTORING_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TUTORING_STATUS_CONCAT_INNER_(a, b) a##b
#define TUTORING_STATUS_CONCAT_(a, b) TUTORING_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)              \
  do {                                     \
    const ::absl::Status status_ = (expr); \
    if (!status_.ok()) return status_;     \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                        \
  ASSIGN_OR_RETURN_IMPL_(TUTORING_STATUS_CONCAT_(statusor_, __LINE__), lhs, \
                         rexpr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()

#endif  // TUTORING_COMMON_STATUS_MACROS_H_
