// The shim: one small process per container instance, between the agent and
// the container's program, as containerd-shim is. It owns the program's
// stdin, stdout and stderr (pipes, or a terminal when the container asks for
// tty), writes the output to the instance's log file with timestamps,
// serves attach clients on a unix socket, and records how the program ended.
// Because it is not the agent, a restarted agent finds the log still written,
// stdin still open and the exit code still known.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "runtime/container_process.h"

namespace podnet::runtime {

struct ShimSpec {
  ProcessSpec process;                      // fds and logPath are the shim's business
  std::string logPath;                      // this instance's log (container_log.h)
  uint64_t logMaxBytes = 10 * 1024 * 1024;  // rotated to logPath.1 beyond this (kubelet's default)
  std::string attachSocket;                 // unix socket for attach clients; "" for none
  std::string exitPath;    // {"exitCode":N,"finishedAt":...} once the program has ended
  bool stdinOpen = false;  // the container's `stdin`: else stdin is /dev/null
  bool stdinOnce = false;  // close stdin when the first attach client detaches
  bool tty = false;
};

struct ShimStarted {
  pid_t shimPid = 0;
  pid_t containerPid = 0;
};

// Starts `selfBinary container-shim SPECFILE` (the spec is written next to
// the log as JSON) and waits for its report: the program's pid, or why it
// could not start (exec: "foo": executable file not found in $PATH).
core::Result<ShimStarted> startShim(const std::string& selfBinary, const ShimSpec& spec,
                                    const std::string& specPath);

// `podnet container-shim SPECFILE`: reports on stdout, then runs until the
// program has ended and its output is written. Exits with the program's exit
// code (128 + signal when killed).
int runShim(const std::string& specPath);

// What the shim recorded in exitPath; nullopt while the program runs.
struct ExitRecord {
  int exitCode = 0;
  std::string reason;  // Completed, Error, OOMKilled...
  std::string finishedAt;
};
std::optional<ExitRecord> readExitRecord(const std::string& exitPath);

// The attach protocol on the shim's socket: frames of one byte stream id,
// a 4-byte big-endian length and the payload. The client sends stdin (0),
// resize (4: "WIDTH HEIGHT") and close-stdin (255); the shim sends stdout
// (1) and stderr (2). The shim closes the connection when the program ends.
enum class AttachStream : uint8_t {
  stdinData = 0,
  stdoutData = 1,
  stderrData = 2,
  resize = 4,
  closeStdin = 255
};
void appendAttachFrame(std::string& out, AttachStream stream, std::string_view payload);
// Parses one frame from the start of `input`: its size, or 0 when it is not
// complete yet; -1 when it is longer than `maxPayload`.
long parseAttachFrame(std::string_view input, AttachStream& stream, std::string_view& payload,
                      size_t maxPayload = 1 << 20);

}  // namespace podnet::runtime
