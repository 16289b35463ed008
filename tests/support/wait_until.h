// WaitUntil: polls a condition until it holds or a deadline passes. For conditions that another
// thread or process makes true (a bus message applied, a server back up); never a fixed sleep.
#pragma once

#include <chrono>
#include <thread>

namespace permcache::testing {

// True as soon as pred() holds; false when `timeout` passes first. Polls every millisecond.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace permcache::testing
