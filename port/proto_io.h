// File: port/proto_io.h
//
// Text-format protobuf parsing with errors that name the file, line and
// column, and atomic text-format writing (temp file, fsync, rename).
#ifndef SNIPER_PORT_PROTO_IO_H_
#define SNIPER_PORT_PROTO_IO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sniper {

// Parses `text` into `message` (cleared first). `source_name` appears in
// errors, e.g. "configs/x.pbtxt:3:7: Message type "..." has no field named
// "scale"". Returns InvalidArgument on any parse error.
absl::Status ParseTextProto(absl::string_view text,
                            absl::string_view source_name,
                            google::protobuf::Message* message);

// Reads `path` and parses it as text format. NotFound if it cannot be read.
absl::Status ReadTextProtoFile(const std::string& path,
                               google::protobuf::Message* message);

// Reads a whole file into a string. NotFound/DataLoss name the path.
absl::Status ReadFileToString(const std::string& path, std::string* out);

// Writes `contents` to `path` atomically: a temporary file in the same
// directory, fsync, then rename. On error nothing is left at `path` that was
// not there before.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

// Removes the temporary files WriteFileAtomically left in `dir` (not its
// subdirectories) when its process died mid-write: "<name>.tmp.<pid>"
// whose process is gone. Files of live processes are kept. Returns the
// removed paths, sorted.
std::vector<std::string> RemoveStaleTempFiles(const std::string& dir);

// Text-format `message` written with WriteFileAtomically.
absl::Status WriteTextProtoFile(const std::string& path,
                                const google::protobuf::Message& message);

}  // namespace sniper

#endif  // SNIPER_PORT_PROTO_IO_H_
