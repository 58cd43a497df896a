#include "server/admission.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace tutoring::server {
namespace {

using Verdict = CallAdmission::Verdict;

// Admission waits in real time (AwaitQuiet); the clock is the real one.
const RealClock clock_;

Verdict Admit(CallAdmission& admission, int batch_ids,
              absl::Status* refusal = nullptr,
              std::vector<absl::Status>* refused_later = nullptr) {
  absl::Status ignored;
  return admission.Admit(batch_ids, refusal == nullptr ? &ignored : refusal,
                         [refused_later](absl::Status status) {
                           if (refused_later != nullptr) {
                             refused_later->push_back(status);
                           }
                         });
}

TEST(CallAdmission, RefusesCallsBeyondTheLimitUntilOneFinishes) {
  CallAdmission admission(AdmissionOptions{2, 4000}, clock_);
  EXPECT_EQ(Admit(admission, 0), Verdict::kAdmitted);
  EXPECT_EQ(Admit(admission, 0), Verdict::kAdmitted);
  absl::Status refusal;
  EXPECT_EQ(Admit(admission, 0, &refusal), Verdict::kRefused);
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
  admission.Finished(0);
  EXPECT_EQ(Admit(admission, 0), Verdict::kAdmitted);
  EXPECT_EQ(admission.in_flight(), 2);
}

TEST(CallAdmission, BatchIdsHaveABudgetOfTheirOwn) {
  CallAdmission admission(AdmissionOptions{100, 1500}, clock_);
  EXPECT_EQ(Admit(admission, 1000), Verdict::kAdmitted);
  absl::Status refusal;
  EXPECT_EQ(Admit(admission, 1000, &refusal), Verdict::kRefused);
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
  // Smaller batches and other calls still fit.
  EXPECT_EQ(Admit(admission, 500), Verdict::kAdmitted);
  EXPECT_EQ(Admit(admission, 0), Verdict::kAdmitted);
  admission.Finished(1000);
  EXPECT_EQ(Admit(admission, 1000), Verdict::kAdmitted);
}

TEST(CallAdmission, ABatchLargerThanTheBudgetRunsAlone) {
  CallAdmission admission(AdmissionOptions{100, 500}, clock_);
  EXPECT_EQ(Admit(admission, 1000), Verdict::kAdmitted);
  EXPECT_EQ(Admit(admission, 1), Verdict::kRefused);
  admission.Finished(1000);
  EXPECT_EQ(Admit(admission, 1), Verdict::kAdmitted);
}

TEST(CallAdmission, HeldCallsAreRefusedUnavailableLaterAndNewOnesAtOnce) {
  CallAdmission admission(AdmissionOptions{}, clock_);
  EXPECT_EQ(Admit(admission, 0), Verdict::kAdmitted);
  admission.StartHolding();
  std::vector<absl::Status> refused;
  EXPECT_EQ(Admit(admission, 0, nullptr, &refused), Verdict::kHeld);
  EXPECT_EQ(Admit(admission, 10, nullptr, &refused), Verdict::kHeld);
  EXPECT_EQ(admission.held(), 2);
  EXPECT_TRUE(refused.empty());
  // The admitted call is still in flight.
  EXPECT_FALSE(admission.AwaitQuiet(absl::ZeroDuration(), clock_.Now()));
  admission.Finished(0);
  EXPECT_TRUE(
      admission.AwaitQuiet(absl::Milliseconds(20), clock_.Now() + absl::Seconds(5)));

  admission.RefuseHeld();
  ASSERT_EQ(refused.size(), 2u);
  for (const absl::Status& status : refused) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  }
  absl::Status refusal;
  EXPECT_EQ(Admit(admission, 0, &refusal), Verdict::kRefused);
  EXPECT_EQ(refusal.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(admission.held(), 0);
}

TEST(CallAdmission, OptionsBelowOneAreInvalid) {
  EXPECT_EQ(ValidateAdmissionOptions(AdmissionOptions{0, 10}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAdmissionOptions(AdmissionOptions{10, 0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateAdmissionOptions(AdmissionOptions{}).ok());
}

}  // namespace
}  // namespace tutoring::server
