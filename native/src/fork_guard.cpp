#include "llm_datadist_ref/fork_guard.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <vector>

namespace llm_datadist_ref {
namespace {

struct LockTable {
    std::mutex mu;  // guards `ranks`; held from prepare to parent/child
    std::array<std::vector<std::mutex*>, static_cast<std::size_t>(LockRank::kCount)> ranks;
};

std::atomic<uint64_t> g_generation{0};

LockTable& table();

void before_fork() {
    LockTable& t = table();
    t.mu.lock();
    for (auto& rank : t.ranks) {
        for (std::mutex* mutex : rank) {
            mutex->lock();
        }
    }
}

void unlock_all() {
    LockTable& t = table();
    for (auto rank = t.ranks.rbegin(); rank != t.ranks.rend(); ++rank) {
        for (auto mutex = rank->rbegin(); mutex != rank->rend(); ++mutex) {
            (*mutex)->unlock();
        }
    }
    t.mu.unlock();
}

void after_fork_in_child() {
    g_generation.fetch_add(1, std::memory_order_relaxed);
    unlock_all();  // the forking thread took them, and it is the one thread the child has
}

LockTable& table() {
    // Never destroyed: registrations of static objects may outlive any destruction order.
    static LockTable* instance = [] {
        auto* made = new LockTable;
        (void)::pthread_atfork(&before_fork, &unlock_all, &after_fork_in_child);
        return made;
    }();
    return *instance;
}

}  // namespace

ForkGuard::Registration::Registration(std::mutex& mutex, LockRank rank) : mutex_(&mutex), rank_(rank) {
    LockTable& t = table();
    std::lock_guard<std::mutex> lock(t.mu);
    t.ranks[static_cast<std::size_t>(rank_)].push_back(mutex_);
}

ForkGuard::Registration::~Registration() {
    LockTable& t = table();
    std::lock_guard<std::mutex> lock(t.mu);
    auto& rank = t.ranks[static_cast<std::size_t>(rank_)];
    rank.erase(std::remove(rank.begin(), rank.end(), mutex_), rank.end());
}

uint64_t ForkGuard::generation() noexcept { return g_generation.load(std::memory_order_relaxed); }

}  // namespace llm_datadist_ref
