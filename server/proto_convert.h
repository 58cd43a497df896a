// Conversions between the database layer's rows and the API's messages.
#ifndef TUTORING_SERVER_PROTO_CONVERT_H_
#define TUTORING_SERVER_PROTO_CONVERT_H_

#include <cstdint>

#include "db/repository.h"
#include "server/streak.h"
#include "tutoring/v1/tutoring.pb.h"

namespace tutoring::server {

v1::Role ToProto(db::UserRole role);
v1::Difficulty ToProto(db::Difficulty difficulty);
// The rows' strings move into the messages.
void ToProto(db::UserRow&& row, v1::User* user);
void ToProto(db::ExerciseRow&& row, v1::Exercise* exercise);
void ToProto(int64_t user_id, const StreakSummary& summary, v1::Streak* streak);
void ToProto(absl::Time time, google::protobuf::Timestamp* timestamp);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_PROTO_CONVERT_H_
