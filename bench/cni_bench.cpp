// CNI ADD and DEL latency of the dedicated `podnet-cni` executable against the reference
// `bridge` + `host-local` plugins (/usr/lib/cni), exec'ed the way a runtime
// does (CNI_* environment, config on stdin, result on stdout). Root only.
//
// Everything happens in throwaway network namespaces "pcb-<pid>-...": a
// "node" namespace plays the host (each plugin process joins it with setns()
// between clone and exec, so neither side pays for `ip netns exec`), and every
// iteration attaches a fresh pod namespace, created and deleted outside the
// timed region. The two plugins alternate iteration by iteration so drift on
// the machine hits both alike. "harness_floor_p50_ms" is the same start of
// /bin/true: what any plugin pays before doing anything (clone, setns, exec,
// exit, wait). Prints one JSON object.
//
// Usage: cni_bench [iterations]   (default 50)
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

extern char** environ;

#ifndef PODNET_CNI_BINARY  // the dedicated executable; `podnet` named podnet-cni acts the same
#define PODNET_CNI_BINARY PODNET_BINARY
#endif

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Run {
  int exitCode = -1;
  std::string out;
};

struct ChildSetup {
  char** argv;
  char** envp;
  int in, out, devnull, netnsFd;
};

// The child between clone and exec: only syscalls (it shares our memory).
int childMain(void* data) {
  auto* setup = static_cast<ChildSetup*>(data);
  if (setup->netnsFd >= 0 && setns(setup->netnsFd, CLONE_NEWNET) != 0) _exit(126);
  dup2(setup->in, 0);
  dup2(setup->out, 1);
  dup2(setup->devnull, 2);
  execve(setup->argv[0], setup->argv, setup->envp);
  _exit(127);
}

// Starts `argv` with `env` and `input` on stdin, joined to `netnsFd` (if >= 0)
// between clone and exec; stdout is collected, stderr goes to /dev/null. The
// child is a vfork-style clone (CLONE_VM|CLONE_VFORK), as Go's os/exec (and so
// containerd and CRI-O) starts plugins: no page-table copy, so the harness adds
// as little as it can to both subjects.
Run run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
        const std::string& input, int netnsFd) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  ChildSetup setup{args.data(), envp.data(), in[0], out[1], devnull, netnsFd};
  static std::vector<char> stack(256 * 1024);
  pid_t pid =
      clone(childMain, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &setup);
  close(devnull);
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    return {};
  }
  close(in[0]);
  close(out[1]);
  (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  Run result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof buffer)) > 0) result.out.append(buffer, size_t(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

bool ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/sbin/ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  return run(argv, env, "", -1).exitCode == 0;
}

struct Subject {
  std::string label;
  std::string binary;  // exec'ed path; argv[0] is its file name
  std::string config;
  std::vector<double> addMs, delMs;
  int failures = 0;
  std::string lastError;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = size_t(p * double(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

std::string figures(const Subject& s) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"add_p50_ms\":%.2f,\"add_p99_ms\":%.2f,\"del_p50_ms\":%.2f,\"del_p99_ms\":%.2f,"
           "\"samples\":%zu,\"failures\":%d}",
           percentile(s.addMs, 0.5), percentile(s.addMs, 0.99), percentile(s.delMs, 0.5),
           percentile(s.delMs, 0.99), s.addMs.size(), s.failures);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 50;
  if (iterations <= 0) iterations = 50;
  if (geteuid() != 0) {
    fprintf(stderr, "cni_bench: needs root (network namespaces)\n");
    return 1;
  }
  const std::string reference = "/usr/lib/cni";
  if (access((reference + "/bridge").c_str(), X_OK) != 0 ||
      access((reference + "/host-local").c_str(), X_OK) != 0) {
    fprintf(stderr, "cni_bench: %s/bridge and host-local are needed\n", reference.c_str());
    return 1;
  }
  char dirTemplate[] = "/tmp/pcb-XXXXXX";
  if (!mkdtemp(dirTemplate)) return 1;
  const fs::path dir = dirTemplate;
  fs::create_directories(dir / "bin");
  fs::create_symlink(PODNET_CNI_BINARY, dir / "bin" / "podnet-cni");
  const std::string cniPath = (dir / "bin").string() + ":" + reference;

  const std::string prefix = "pcb-" + std::to_string(getpid()) + "-";
  const std::string node = prefix + "node";
  if (!ip({"netns", "add", node})) {
    fprintf(stderr, "cni_bench: ip netns add %s failed\n", node.c_str());
    fs::remove_all(dir);
    return 1;
  }
  int nodeFd = open(("/run/netns/" + node).c_str(), O_RDONLY | O_CLOEXEC);

  auto config = [&](const std::string& type, const std::string& bridge, const std::string& subnet,
                    const std::string& ipamDir) {
    return R"({"cniVersion":"1.0.0","name":"pcb-)" + type + R"(","type":")" + type +
           R"(","bridge":")" + bridge +
           R"(","isGateway":true,"isDefaultGateway":true,"ipam":{"type":"host-local","subnet":")" +
           subnet + R"(","dataDir":")" + (dir / ipamDir).string() + R"("}})";
  };
  std::vector<Subject> subjects{{"podnet", (dir / "bin" / "podnet-cni").string(),
                                 config("podnet-cni", "pcbpod0", "10.252.0.0/24", "ipam-podnet")},
                                {"reference", reference + "/bridge",
                                 config("bridge", "pcbref0", "10.253.0.0/24", "ipam-reference")}};

  std::vector<double> floorMs;
  // One untimed warm-up round each (page cache, bridge creation).
  for (int i = -1; i < iterations; ++i) {
    {
      auto start = Clock::now();
      Run floor = run({"/bin/true"}, {"CNI_COMMAND=VERSION"}, "", nodeFd);
      if (i >= 0 && floor.exitCode == 0)
        floorMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    for (auto& subject : subjects) {
      const std::string pod = prefix + subject.label + "-" + std::to_string(i + 1);
      if (!ip({"netns", "add", pod})) {
        ++subject.failures;
        continue;
      }
      std::vector<std::string> env{
          "CNI_CONTAINERID=pcb-" + std::to_string(getpid()) + "-" + std::to_string(i + 1),
          "CNI_NETNS=/run/netns/" + pod, "CNI_IFNAME=eth0", "CNI_PATH=" + cniPath,
          "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
      std::vector<std::string> argv{subject.binary};
      auto addEnv = env, delEnv = env;
      addEnv.push_back("CNI_COMMAND=ADD");
      delEnv.push_back("CNI_COMMAND=DEL");
      auto start = Clock::now();
      Run add = run(argv, addEnv, subject.config, nodeFd);
      double addMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      start = Clock::now();
      Run del = run(argv, delEnv, subject.config, nodeFd);
      double delMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (add.exitCode != 0 || del.exitCode != 0) {
        ++subject.failures;
        subject.lastError = add.exitCode != 0 ? add.out : del.out;
      } else if (i >= 0) {
        subject.addMs.push_back(addMs);
        subject.delMs.push_back(delMs);
      }
      ip({"netns", "delete", pod});
    }
  }
  close(nodeFd);
  ip({"netns", "delete", node});
  fs::remove_all(dir);

  for (const auto& subject : subjects)
    if (subject.failures)
      fprintf(stderr, "cni_bench: %s: %d failures, last: %s\n", subject.label.c_str(),
              subject.failures, subject.lastError.c_str());
  double ratio = percentile(subjects[1].addMs, 0.5) > 0
                     ? percentile(subjects[0].addMs, 0.5) / percentile(subjects[1].addMs, 0.5)
                     : 0;
  printf(
      "{\"bench\":\"cni\",\"iterations\":%d,\"podnet\":%s,\"reference\":%s,"
      "\"add_p50_ratio\":%.3f,\"harness_floor_p50_ms\":%.2f}\n",
      iterations, figures(subjects[0]).c_str(), figures(subjects[1]).c_str(), ratio,
      percentile(floorMs, 0.5));
  return subjects[0].failures || subjects[1].failures ? 1 : 0;
}
