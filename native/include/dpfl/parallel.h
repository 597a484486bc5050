// The core's persistent thread pool. Work is split deterministically: parallel_for cuts [0, n)
// into fixed chunks whose boundaries depend only on n and the grain, never on the thread count,
// and each chunk is written by exactly one thread. A kernel whose chunks do not reduce across
// each other (rows, columns, elements) is therefore bit-identical for every thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace dpfl {

// Threads the pool uses (including the caller). Default: the available cores, or DPFL_THREADS.
int thread_count();
// Resizes the pool (1 = run everything on the calling thread). Not thread-safe with running work.
void set_thread_count(int threads);

// Calls fn(begin, end) for consecutive chunks of [0, n), each of `grain` items (the last may be
// shorter). Chunks run on the pool's threads; the call returns when all are done. Only one
// parallel region runs at a time: a second caller (e.g. an async kernel on a libuv thread) waits,
// so the machine is never oversubscribed by the core. fn must not throw.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

// What the pool did since reset_pool_stats(), for the bench: whether a slow call waited for
// parked workers (worker_join: from a region's start to a worker taking it up) or ran mostly on
// the calling thread (caller_chunks / chunks). Regions run inline (one chunk or one thread) are
// not counted.
struct PoolStats {
  int64_t regions = 0;
  int64_t chunks = 0;
  int64_t caller_chunks = 0;
  double worker_join_max_us = 0;
  double worker_join_mean_us = 0;
};
PoolStats pool_stats();
void reset_pool_stats();

}  // namespace dpfl
