#include "port/main_guard.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

namespace sniper {

std::string OneLineMessage(std::string_view what) {
  constexpr std::string_view kBacktrace = "Exception raised from ";
  if (what.substr(0, kBacktrace.size()) == kBacktrace) {
    what = {};
  } else if (const size_t at = what.find(std::string("\n").append(kBacktrace));
             at != std::string_view::npos) {
    what = what.substr(0, at);
  }
  auto is_blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  std::string line;
  line.reserve(what.size());
  bool pending_space = false;
  for (size_t i = 0; i < what.size(); ++i) {
    const char c = what[i];
    if (c == '\n' || c == '\r') {
      // Drop the blanks before the break, and those after it.
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
        line.pop_back();
      }
      while (i + 1 < what.size() && is_blank(what[i + 1])) ++i;
      pending_space = !line.empty();
      continue;
    }
    if (pending_space) line.push_back(' ');
    pending_space = false;
    line.push_back(c);
  }
  while (!line.empty() && is_blank(line.back())) line.pop_back();
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
