#include "port/main_guard.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

namespace sniper {

const char* DescribeCurrentException() {
  try {
    std::exception_ptr e = std::current_exception();
    if (e == nullptr) return "terminate called without an active exception";
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

namespace {

[[noreturn]] void OnTerminate() {
  std::fprintf(stderr, "error: %s\n", DescribeCurrentException());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

int RunMain(int argc, char** argv, int (*body)(int, char**)) {
  std::set_terminate(OnTerminate);
  try {
    return body(argc, argv);
  } catch (...) {
    std::fprintf(stderr, "error: %s\n", DescribeCurrentException());
    return 1;
  }
}

}  // namespace sniper
