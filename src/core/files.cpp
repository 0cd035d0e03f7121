#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

}  // namespace podnet::core
