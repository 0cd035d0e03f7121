#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace podnet::core {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Status writeFileAtomically(const std::string& path, const std::string& content, int mode,
                           bool durable) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return internal("cannot write " + temp + ": " + std::strerror(errno));
  ::fchmod(fd, mode_t(mode));  // also when the temp file existed with another mode
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return internal("cannot write " + temp + ": " + std::strerror(errno));
    }
    written += size_t(n);
  }
  if (durable) ::fsync(fd);
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0)
    return internal("cannot rename " + temp + ": " + std::strerror(errno));
  return Ok{};
}

Status makePrivateDirectories(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path target = fs::path(path).lexically_normal();
  // Each missing component, outermost first, made 0700 as it is created.
  std::vector<fs::path> missing;
  for (fs::path at = target; !at.empty() && !fs::exists(at, error); at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      return internal("cannot create " + it->string() + ": " + std::strerror(errno));
    ::chmod(it->c_str(), 0700);  // the umask may have taken the owner's bits
  }
  struct stat info {};
  if (::stat(target.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return internal("cannot create " + target.string() + ": not a directory");
  if ((info.st_mode & 0777) != 0700 && ::chmod(target.c_str(), 0700) != 0)
    return internal("cannot make " + target.string() + " private: " + std::strerror(errno));
  return Ok{};
}

Tightened tightenPrivateTree(const std::string& root, bool (*keepAsIs)(std::string_view)) {
  namespace fs = std::filesystem;
  Tightened result;
  auto tighten = [&](const fs::path& path, const struct stat& info) {
    mode_t mode = info.st_mode & 07777;
    mode_t wanted = S_ISDIR(info.st_mode) ? 0700 : mode & 0700;
    if (mode == wanted || ::chmod(path.c_str(), wanted) != 0) return;
    if (result.count++ == 0) result.first = path.string();
  };
  struct stat info {};
  if (::lstat(root.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return result;
  tighten(root, info);
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error),
      end;
  for (; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (keepAsIs) {
      std::string relative = path.lexically_relative(root).string();
      if (keepAsIs(relative)) {
        it.disable_recursion_pending();
        continue;
      }
    }
    if (::lstat(path.c_str(), &info) != 0 || S_ISLNK(info.st_mode)) continue;
    tighten(path, info);
  }
  return result;
}

std::string describeTightened(const Tightened& tightened, const std::string& root) {
  if (tightened.count == 0) return "";
  return "made " + std::to_string(tightened.count) + " path" + (tightened.count == 1 ? "" : "s") +
         " under " + root + " private to their owner (group or others had access), e.g. " +
         tightened.first;
}

Result<std::string> makePrivateDataDir(const std::string& dir,
                                       bool (*keepAsIs)(std::string_view relative)) {
  // Tightened first: a dir made private before would not be counted.
  std::string said = describeTightened(tightenPrivateTree(dir, keepAsIs), dir);
  if (auto made = makePrivateDirectories(dir); !made) return made.takeError();
  return said;
}

}  // namespace podnet::core
