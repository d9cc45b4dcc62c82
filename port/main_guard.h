// File: port/main_guard.h
//
// Every binary's last line of defence: an exception that escapes `main`'s
// body, or any thread, becomes one line on stderr and exit code 1, never an
// abort with a core dump.
//
//   int Main(int argc, char** argv) { ... }
//   int main(int argc, char** argv) { return sniper::RunMain(argc, argv, Main);
//   }
//
// The line is "error: <what()>" ("error: out of memory (std::bad_alloc)"
// for a failed allocation). Errors that code can foresee travel as
// absl::Status and are printed by the tool itself; this catches the rest.
#ifndef SNIPER_PORT_MAIN_GUARD_H_
#define SNIPER_PORT_MAIN_GUARD_H_

namespace sniper {

// Installs the terminate handler (for exceptions escaping other threads),
// then runs `body`; returns its exit code, or 1 after printing the escaped
// exception.
int RunMain(int argc, char** argv, int (*body)(int, char**));

// What RunMain prints for the exception being handled (call inside a catch
// block or a terminate handler): "out of memory (std::bad_alloc)", the
// what() of a std::exception, or "unknown exception".
const char* DescribeCurrentException();

}  // namespace sniper

#endif  // SNIPER_PORT_MAIN_GUARD_H_
