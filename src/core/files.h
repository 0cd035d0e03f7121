// Whole files read and written the way state files must be: written to a
// temporary file, synced and renamed (a crash leaves the old or the new
// file, never half of one), with the mode asked for whatever the umask.
#pragma once

#include <string>

#include "core/result.h"

namespace podnet::core {

// The file's bytes; "" when it cannot be read.
std::string readFile(const std::string& path);

// `durable`: synced before the rename, so a crash cannot leave an empty
// file. Off for files that are rewritten from the API anyway (a pod's
// ConfigMap and token files), where the sync is most of the cost.
Status writeFileAtomically(const std::string& path, const std::string& content, int mode = 0600,
                           bool durable = true);

}  // namespace podnet::core
