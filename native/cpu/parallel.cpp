// A persistent thread pool: workers sleep on a condition variable and pull chunk indices from an
// atomic counter; the caller works too. One region at a time (region_mutex).
#include "dpfl/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dpfl {
namespace {

int default_threads() {
  if (const char* env = std::getenv("DPFL_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1 && n <= 1024) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int threads() const { return threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> region(region_mutex_);
    stop();
    start(threads);
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& chunk_fn) {
    if (chunks <= 0) return;
    std::lock_guard<std::mutex> region(region_mutex_);
    if (threads_ == 1 || chunks == 1) {
      for (int64_t c = 0; c < chunks; ++c) chunk_fn(c);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &chunk_fn;
      chunks_ = chunks;
      next_.store(0);
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0; });
    job_ = nullptr;
  }

 private:
  void start(int threads) {
    threads_ = std::max(1, threads);
    quit_ = false;
    // New workers start from the current generation. From 0 (as before), a worker started by a
    // resize (generation_ > 0) ran one phantom round that decremented active_ once too often: a
    // later region could return while another worker still ran one of its chunks (use after
    // return), and the next one wait forever on active_ == -1. Found by the fuzz targets (hangs).
    const uint64_t generation = generation_;
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, generation] { loop(generation); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  void work() {
    for (;;) {
      const int64_t c = next_.fetch_add(1);
      if (c >= chunks_) return;
      (*job_)(c);
    }
  }

  void loop(uint64_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (quit_) return;
      }
      work();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--active_ == 0) done_.notify_one();
      }
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex region_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t generation_ = 0;
  bool quit_ = false;
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int thread_count() { return pool().threads(); }

void set_thread_count(int threads) { pool().resize(threads); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = (n + grain - 1) / grain;
  pool().run(chunks, [&](int64_t c) {
    const int64_t begin = c * grain;
    fn(begin, std::min(n, begin + grain));
  });
}

}  // namespace dpfl
