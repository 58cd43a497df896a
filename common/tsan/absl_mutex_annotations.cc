// ThreadSanitizer builds only (TUTORING_SANITIZE=thread): tells TSan about
// the synchronization absl::Mutex and absl::CondVar provide.
//
// Debian's Abseil is not built with TSan, so its Mutex carries none of the
// annotations Abseil adds under TSan, and every guarded variable shared by
// two threads looks like a race. Each entry point the project (and gRPC,
// which locks through absl::Mutex too) calls is defined again here: the
// executable's definition takes precedence over the shared library's, so
// this one runs, tells TSan "acquired" or "released", and calls the
// library's own through dlsym(RTLD_NEXT). Linked into every executable of a
// TSan build and into nothing else.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

// The library's definition of `symbol`, looked up once.
template <typename Fn>
Fn Real(const char* symbol) {
  void* found = dlsym(RTLD_NEXT, symbol);
  if (found == nullptr) {
    std::fprintf(stderr, "tsan shim: no %s in the loaded libraries\n", symbol);
    std::abort();
  }
  return reinterpret_cast<Fn>(found);
}

using MutexFn = void (*)(absl::Mutex*);
using MutexBoolFn = bool (*)(absl::Mutex*);
using CondFn = void (*)(absl::Mutex*, const absl::Condition&);
using CondBoolTimeoutFn = bool (*)(absl::Mutex*, const absl::Condition&,
                                   absl::Duration);
using CondBoolDeadlineFn = bool (*)(absl::Mutex*, const absl::Condition&,
                                    absl::Time);
using NotificationFn = void (*)(const absl::Notification*);
using NotificationTimeoutFn = bool (*)(const absl::Notification*,
                                       absl::Duration);
using NotificationDeadlineFn = bool (*)(const absl::Notification*, absl::Time);
using CvFn = void (*)(absl::CondVar*);
using CvWaitFn = void (*)(absl::CondVar*, absl::Mutex*);
using CvTimeoutFn = bool (*)(absl::CondVar*, absl::Mutex*, absl::Duration);
using CvDeadlineFn = bool (*)(absl::CondVar*, absl::Mutex*, absl::Time);

// Abseil's deadlock detector keeps a graph of every Mutex behind a lock of
// its own (a spin lock TSan cannot see either); it is off in TSan builds,
// the tests of the other builds keep it on.
const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

// A Condition is evaluated under its Mutex, but by whichever thread holds
// the Mutex at that moment (the waiter, or another thread as it unlocks),
// inside the library where the annotations above cannot reach. Each
// evaluation is made a critical section of its own for TSan: acquire the
// Mutex, evaluate, release.
//
// The AnnotatedCondition lives on the waiter's stack and reaches the other
// thread through the library's wait queue, whose spin lock TSan cannot see
// either: a waiter that queues behind the holder has released nothing since
// it wrote it. So the waiter publishes it (release on its address) and each
// evaluation observes that (acquire) before it reads a byte of it. The
// Condition wrapping it takes a void* on purpose: that constructor and its
// dispatcher live in the (uninstrumented) library, so nothing instrumented
// reads the waiter's stack before Eval's acquire; the template constructor
// would dispatch through code compiled here.
struct AnnotatedCondition {
  const absl::Condition* condition;
  absl::Mutex* mu;

  static bool Eval(void* arg) {
    __tsan_acquire(arg);
    auto* self = static_cast<AnnotatedCondition*>(arg);
    __tsan_acquire(self->mu);
    const bool result = self->condition->Eval();
    __tsan_release(self->mu);
    return result;
  }
};

}  // namespace

#define TUTORING_REAL(type, symbol) static const type real = Real<type>(symbol)

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  TUTORING_REAL(MutexFn, "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() {
  TUTORING_REAL(MutexFn, "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  TUTORING_REAL(MutexBoolFn, "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  TUTORING_REAL(MutexBoolFn, "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  TUTORING_REAL(MutexFn, "_ZN4absl7debian35Mutex6UnlockEv");
  __tsan_release(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  TUTORING_REAL(MutexFn, "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}

// The condition-taking calls pass the library an AnnotatedCondition.
#define TUTORING_ANNOTATE(cond)                      \
  AnnotatedCondition annotated{&(cond), this};       \
  __tsan_release(&annotated);                        \
  const Condition wrapped(&AnnotatedCondition::Eval, \
                          static_cast<void*>(&annotated))

void Mutex::LockWhen(const Condition& cond) {
  TUTORING_REAL(CondFn, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  TUTORING_ANNOTATE(cond);
  real(this, wrapped);
  __tsan_acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  TUTORING_REAL(CondFn,
                "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  TUTORING_ANNOTATE(cond);
  real(this, wrapped);
  __tsan_acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  TUTORING_REAL(CondBoolTimeoutFn,
                "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_"
                "9ConditionENS0_8DurationE");
  TUTORING_ANNOTATE(cond);
  const bool result = real(this, wrapped, timeout);
  __tsan_acquire(this);
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  TUTORING_REAL(CondBoolDeadlineFn,
                "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_"
                "9ConditionENS0_4TimeE");
  TUTORING_ANNOTATE(cond);
  const bool result = real(this, wrapped, deadline);
  __tsan_acquire(this);
  return result;
}

void Mutex::Await(const Condition& cond) {
  TUTORING_REAL(CondFn, "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  TUTORING_ANNOTATE(cond);
  __tsan_release(this);
  real(this, wrapped);
  __tsan_acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  TUTORING_REAL(CondBoolTimeoutFn,
                "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_"
                "9ConditionENS0_8DurationE");
  TUTORING_ANNOTATE(cond);
  __tsan_release(this);
  const bool result = real(this, wrapped, timeout);
  __tsan_acquire(this);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  TUTORING_REAL(CondBoolDeadlineFn,
                "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_"
                "9ConditionENS0_4TimeE");
  TUTORING_ANNOTATE(cond);
  __tsan_release(this);
  const bool result = real(this, wrapped, deadline);
  __tsan_acquire(this);
  return result;
}

void CondVar::Wait(Mutex* mu) {
  TUTORING_REAL(CvWaitFn, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(this);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  TUTORING_REAL(CvTimeoutFn,
                "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_"
                "5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool result = real(this, mu, timeout);
  __tsan_acquire(this);
  __tsan_acquire(mu);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  TUTORING_REAL(CvDeadlineFn,
                "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_"
                "5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool result = real(this, mu, deadline);
  __tsan_acquire(this);
  __tsan_acquire(mu);
  return result;
}

void CondVar::Signal() {
  TUTORING_REAL(CvFn, "_ZN4absl7debian37CondVar6SignalEv");
  __tsan_release(this);
  real(this);
}

void CondVar::SignalAll() {
  TUTORING_REAL(CvFn, "_ZN4absl7debian37CondVar9SignalAllEv");
  __tsan_release(this);
  real(this);
}

// Notification: Notify publishes, the waits (which may return without
// touching the mutex once notified) observe.
void Notification::Notify() {
  TUTORING_REAL(NotificationFn, "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  TUTORING_REAL(NotificationFn,
                "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(
    absl::Duration timeout) const {
  TUTORING_REAL(NotificationTimeoutFn,
                "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeou"
                "tENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  TUTORING_REAL(NotificationDeadlineFn,
                "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadli"
                "neENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
