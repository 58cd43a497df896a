#include "db/call_context.h"

namespace tutoring::db {

void CallContext::Cancel() {
  if (cancelled_.exchange(true, std::memory_order_acq_rel)) return;
  if (CancelListener* listener = listener_.load(std::memory_order_acquire)) {
    listener->OnCallCancelled();
  }
}

}  // namespace tutoring::db
