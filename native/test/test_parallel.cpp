// The thread pool: every chunk runs exactly once and is finished when parallel_for returns, also
// right after the pool is resized.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "check.h"
#include "dpfl/parallel.h"

// Before the fix, workers started by a resize ran a phantom round that threw off the count of
// active workers: parallel_for could return with chunks still running, and a later call hang.
// A watchdog turns a hang into a failure.
TEST(parallel_for_after_resize_waits_for_every_chunk) {
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && !finished.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!finished.load()) {
      std::fprintf(stderr, "parallel_for hung after set_thread_count\n");
      std::abort();
    }
  });
  int early = 0;
  for (int round = 0; round < 400; ++round) {
    dpfl::set_thread_count(round % 2 == 0 ? 32 : 33);  // many workers contend for the lock at start
    // The race needs a new worker to take the pool's lock just before the first region: vary the
    // delay so some rounds land in that window.
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(round % 40);
    while (std::chrono::steady_clock::now() < until) {
    }
    for (int call = 0; call < 2; ++call) {
      std::atomic<int> done{0};
      dpfl::parallel_for(24, 1, [&](int64_t, int64_t) {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        done.fetch_add(1);
      });
      if (done.load() != 24) ++early;
      // Chunks still running after the return would touch `done` after its scope: wait them out.
      while (done.load() < 24) std::this_thread::yield();
    }
  }
  finished.store(true);
  watchdog.join();
  CHECK_EQ(early, 0);
  dpfl::set_thread_count(1);
}

CHECK_MAIN()
