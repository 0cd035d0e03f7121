// Whole files read and written the way state files must be: written to a
// temporary file, synced and renamed (a crash leaves the old or the new
// file, never half of one), with the mode asked for whatever the umask.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace podnet::core {

// The file's bytes; "" when it cannot be read.
std::string readFile(const std::string& path);

// `durable`: synced before the rename, so a crash cannot leave an empty
// file. Off for files that are rewritten from the API anyway (a pod's
// ConfigMap and token files), where the sync is most of the cost.
Status writeFileAtomically(const std::string& path, const std::string& content, int mode = 0600,
                           bool durable = true);

// State and credentials are private to their owner: directories 0700,
// files 0600. `path` and every directory made on the way are created (or
// left, when they exist) with mode 0700, whatever the umask.
Status makePrivateDirectories(const std::string& path);

// What tightenPrivateTree changed.
struct Tightened {
  size_t count = 0;   // files and directories whose group/other bits went
  std::string first;  // one of them, to name in the log
};

// Takes group and other permissions from `root` and everything under it
// (directories end 0700 at most, files 0600 at most, plus the owner's x).
// `keepAsIs(relative)`, given a path relative to `root`, says which belong
// to someone else (a pod's volumes, the /etc/hosts its containers read): it
// and everything under it keep their modes. Symbolic links are not
// followed.
Tightened tightenPrivateTree(const std::string& root,
                             bool (*keepAsIs)(std::string_view relative) = nullptr);

// The one line a component logs about it on a start; "" when nothing
// changed.
std::string describeTightened(const Tightened& tightened, const std::string& root);

// A component's data dir on a start: what is in it tightened
// (tightenPrivateTree), then the dir made (makePrivateDirectories). Returns
// the line to log about what changed ("" when nothing did).
Result<std::string> makePrivateDataDir(const std::string& dir,
                                       bool (*keepAsIs)(std::string_view relative) = nullptr);

}  // namespace podnet::core
