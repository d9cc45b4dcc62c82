// File: port/proto_layering.h
//
// Layering protobuf messages, for configs built from several sources (the
// built-in default, a --config file, --set assignments):
//
//   MergeReplacingLists(file_layer, &merged);           // a later layer wins
//   RETURN_IF_ERROR(ApplyAssignment("optimizer.base_lr=0.01", &merged));
//   RETURN_IF_ERROR(ApplyAssignment("scales[1].valid_range.max=48", &merged));
//
// Unlike protobuf's MergeFrom, a repeated field set in the upper layer
// replaces the lower layer's list as a whole (a list of scales is one
// setting, not something to append to).
#ifndef SNIPER_PORT_PROTO_LAYERING_H_
#define SNIPER_PORT_PROTO_LAYERING_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace sniper {

// Copies every field set in `upper` into `lower`: scalars replace,
// repeated fields replace the whole list, messages merge recursively.
void MergeReplacingLists(const google::protobuf::Message& upper,
                         google::protobuf::Message* lower);

// Applies "path=value": path is dot-separated field names, repeated
// message elements indexed as name[i] (i may equal the current size to
// append); value is a scalar in text-format spelling (numbers, true/false,
// enum names, strings with or without quotes, inf) or, for a repeated
// scalar field, a list [a, b, c] that replaces it. Errors name the path
// and, for an unknown field, the message's fields.
absl::Status ApplyAssignment(const std::string& assignment,
                             google::protobuf::Message* message);

}  // namespace sniper

#endif  // SNIPER_PORT_PROTO_LAYERING_H_
