// RequestMirror (Gateway API): a copy of a request sent to another backend,
// its answer read and dropped, never waited for. The client's exchange goes
// on as if there were no mirror; a mirror that cannot connect, or takes
// longer than its deadline, is abandoned.
#pragma once

#include <string>

#include "ingress/event_loop.h"
#include "ingress/routes.h"

namespace podnet::ingress {

// Starts sending `request` (a whole HTTP/1.1 request, head and body) to
// `endpoint` on `loop`'s thread; the loop owns what it starts.
void sendMirror(EventLoop& loop, const Endpoint& endpoint, std::string request,
                uint64_t timeoutMs = 10000);

}  // namespace podnet::ingress
