#include "port/main_guard.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sniper {

std::string OneLineMessage(std::string_view what) {
  constexpr absl::string_view kBacktrace = "Exception raised from ";
  std::string line;
  bool first = true;
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(what.data(), what.size()),
                      absl::ByAnyChar("\r\n"))) {
    if (absl::StartsWith(piece, kBacktrace)) break;
    // The first line's leading blanks stay; those around a break go.
    piece = first ? absl::StripTrailingAsciiWhitespace(piece)
                  : absl::StripAsciiWhitespace(piece);
    first = false;
    if (piece.empty()) continue;
    absl::StrAppend(&line, line.empty() ? "" : " ", piece);
  }
  return line;
}

std::string DescribeCurrentException() {
  try {
    std::exception_ptr e = std::current_exception();
    if (e == nullptr) return "terminate called without an active exception";
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    std::string line = OneLineMessage(e.what());
    if (line.empty()) return "exception with an empty message";
    return line;
  } catch (...) {
    return "unknown exception";
  }
}

namespace {

[[noreturn]] void OnTerminate() {
  std::fprintf(stderr, "error: %s\n", DescribeCurrentException().c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

int RunMain(int argc, char** argv, int (*body)(int, char**)) {
  std::set_terminate(OnTerminate);
  try {
    return body(argc, argv);
  } catch (...) {
    std::fprintf(stderr, "error: %s\n", DescribeCurrentException().c_str());
    return 1;
  }
}

}  // namespace sniper
