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

}  // namespace dpfl
