#include "llm_datadist_ref/worker_pool.hpp"

#include <atomic>
#include <cstdint>
#include <utility>

#include "llm_datadist_ref/fork_guard.hpp"

namespace llm_datadist_ref {

WorkerPool::WorkerPool(unsigned threads) {
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { loop(); });
    }
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) {
        thread.join();
    }
}

void WorkerPool::loop() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // stopping and drained
            }
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job();
    }
}

void WorkerPool::submit(std::function<void()> job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void WorkerPool::run_all(std::vector<std::function<void()>> jobs) {
    Latch latch(jobs.size());
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& job : jobs) {
            queue_.push_back([&latch, work = std::move(job)] {
                work();
                latch.count_down();
            });
        }
    }
    wake_.notify_all();
    latch.wait();
}

WorkerPool& WorkerPool::shared() {
    // One pool per process, made again in a child of fork(): the parent's workers do not exist
    // there, so a job queued on the inherited pool would wait forever. Pools are deliberately
    // never destroyed: joining at static-destruction time, after the interpreter has gone, gains
    // nothing, and an inherited pool's std::threads cannot be joined (they are not the child's).
    static std::atomic<WorkerPool*> current{nullptr};
    static std::atomic<uint64_t> made_in{0};
    static std::mutex creating;
    static const ForkGuard::Registration registration(creating, LockRank::kWorkers);
    const uint64_t generation = ForkGuard::generation();
    WorkerPool* pool = current.load(std::memory_order_acquire);
    if (pool != nullptr && made_in.load(std::memory_order_acquire) == generation) {
        return *pool;
    }
    std::lock_guard<std::mutex> lock(creating);
    pool = current.load(std::memory_order_acquire);
    if (pool == nullptr || made_in.load(std::memory_order_acquire) != generation) {
        pool = new WorkerPool(4);
        made_in.store(generation, std::memory_order_release);
        current.store(pool, std::memory_order_release);
    }
    return *pool;
}

void Latch::count_down() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) {
        done_.notify_all();
    }
}

void Latch::wait() {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return count_ == 0; });
}

}  // namespace llm_datadist_ref
