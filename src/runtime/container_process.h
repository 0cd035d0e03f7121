// Starting a container's program inside a pod: the pod's network namespace,
// a private mount namespace in which the pod's resolv.conf and hosts are bind
// mounted over /etc (as `ip netns exec` does with /etc/netns/NAME), and a UTS
// namespace whose hostname is the pod's.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/mount_plan.h"

namespace podnet::runtime {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH (of `env`, else the agent's)
  std::vector<std::string> env;   // KEY=VALUE, the whole environment
  std::string workingDir;         // empty: /
  std::string netnsPath;          // /run/netns/NAME
  std::string resolvConfPath;     // bind-mounted over /etc/resolv.conf; empty: none
  std::string hostsPath;          // bind-mounted over /etc/hosts; empty: none
  std::string hostname;           // empty: unchanged
  // The pod's volumes (runtime/mount_plan.h), bound in the container's mount
  // namespace; mount points missing on the host are made under `scratchDir`
  // (an empty host directory, the same for every container of the pod).
  std::vector<Mount> mounts;
  std::string scratchDir;
  std::string logPath;     // stdout+stderr appended here; empty: inherit
  bool newSession = true;  // setsid, so the agent's terminal signals don't reach it
  bool keepStdin = false;  // podnet exec: the caller's stdin; else /dev/null
  // Descriptors of the caller that become the process's 0, 1 and 2 (a pipe
  // or a terminal's replica); -1: the defaults above (logPath, keepStdin).
  int stdinFd = -1, stdoutFd = -1, stderrFd = -1;
  // stdin is a terminal that becomes the controlling terminal of the new
  // session (needs newSession), so ^C and window changes reach the process.
  bool controllingTerminal = false;
};

// The absolute path of `program` as execvp would find it with `pathVariable`,
// or a NotFound error with the runtime's message
// (exec: "foo": executable file not found in $PATH). `mounts`: the
// container's volumes, so a program in a volume is found where the
// container will see it.
core::Result<std::string> findExecutable(const std::string& program,
                                         const std::string& pathVariable,
                                         const std::vector<Mount>& mounts = {});

// Forks and execs; the error paths of the child (namespace, mount, exec) are
// reported back through a close-on-exec pipe, so a failure is an error here
// rather than a process that dies at once.
core::Result<pid_t> spawnInPod(const ProcessSpec& spec);

// Field 22 of /proc/PID/stat: the process's start time in clock ticks, which
// tells a process from a later one that reuses its pid. 0 when it is gone.
unsigned long long processStartTime(pid_t pid);

}  // namespace podnet::runtime
