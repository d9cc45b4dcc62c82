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
// for a failed allocation), folded to one line: a C++ backtrace that a
// library appends to its message (LibTorch's c10::Error: "Exception raised
// from ... (most recent call first): frame #0 ...") is cut, the message's own
// line breaks become spaces. Errors that code can foresee travel as
// absl::Status and are printed by the tool itself; this catches the rest.
#ifndef SNIPER_PORT_MAIN_GUARD_H_
#define SNIPER_PORT_MAIN_GUARD_H_

#include <string>
#include <string_view>

namespace sniper {

// Installs the terminate handler (for exceptions escaping other threads),
// then runs `body`; returns its exit code, or 1 after printing the escaped
// exception.
int RunMain(int argc, char** argv, int (*body)(int, char**));

// What RunMain prints for the exception being handled (call inside a catch
// block or a terminate handler): "out of memory (std::bad_alloc)", the
// what() of a std::exception through OneLineMessage, or "unknown exception".
std::string DescribeCurrentException();

// `what` without an appended C++ backtrace (the text from a line starting
// "Exception raised from " on), its line breaks and the blanks around them
// folded to one space, trailing blanks dropped.
std::string OneLineMessage(std::string_view what);

}  // namespace sniper

#endif  // SNIPER_PORT_MAIN_GUARD_H_
