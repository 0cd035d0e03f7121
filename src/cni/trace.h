// Phase timestamps for measuring podnet-cni: with PODNET_CNI_TRACE=1 in the
// environment each mark prints "podnet-cni trace: <ms since the first mark> <phase>"
// on stderr (stdout carries the CNI result). Off, a mark costs one branch.
#pragma once

namespace podnet::cni {

void traceMark(const char* phase);

}  // namespace podnet::cni
