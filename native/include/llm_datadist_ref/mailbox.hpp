// The same-host fast path of pulls and pushes between processes: a one-slot request/reply channel
// in a shared memory page pair, served by a thread of the listening engine. A transfer's lease and
// commit go through it without a socket or the GIL: when both sides are busy, a hand-off is one
// cache line each way; an idle side sleeps on a futex in the shared page and is woken by the other.
//
// Only the serving process decides: a request names a key, a cache id or a lease to end, never an
// address, and every figure of a request is checked before use. The peer checks every figure of
// a reply against its mapping of the serving pools (make_peer_cache), so neither side trusts the
// other's writes to the shared page.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llm_datadist_ref/engine.hpp"
#include "llm_datadist_ref/remote.hpp"

namespace llm_datadist_ref {
namespace mailbox {

/// Caches with more tensors than this go through the control channel instead.
constexpr uint32_t kMaxTensors = 4096;
constexpr std::size_t kMaxMessage = 480;

enum class Op : uint32_t { kLease = 1, kLeasePush = 2, kCommit = 3, kRelease = 4, kPing = 5 };

/// reply.status besides StatusCode values: the cache does not fit the mailbox; use the control
/// channel (nothing was leased).
constexpr int64_t kUseControlChannel = 1;

struct Request {
    uint32_t op;
    uint32_t key_kind;  ///< RemoteKey::Kind for kLease
    uint64_t a, b, c;   ///< the key's figures (req_id, prefix_id, model_id / cache_id, batch_index / model_id)
    uint32_t blocks;    ///< kLease: pull_blocks (never releases a key)
    uint32_t timeout_ms;
    uint32_t num_tensors;  ///< kCommit: tensors transferred
    uint32_t tensors[kMaxTensors];
};

struct Reply {
    int64_t status;
    uint32_t message_bytes;
    char message[kMaxMessage];
    uint32_t placement;
    uint32_t num_tensors;
    uint32_t batch_size;
    uint32_t is_blocks;
    uint32_t batch_index;
    uint64_t tensor_bytes;
    uint64_t offsets[kMaxTensors];
};

/// The shared page pair. Sequence numbers are futex words: the client bumps request_seq after
/// writing a request; the server sets reply_seq to it after writing the reply. Each side
/// publishes the CPU it waits on (cpu_tag), so that neither spins on the CPU its peer needs.
struct Layout {
    alignas(64) std::atomic<uint32_t> request_seq;
    std::atomic<uint32_t> server_sleeping;
    std::atomic<uint32_t> server_cpu;
    alignas(64) std::atomic<uint32_t> reply_seq;
    std::atomic<uint32_t> client_sleeping;
    std::atomic<uint32_t> client_cpu;
    alignas(64) Request request;
    alignas(64) Reply reply;
};

static_assert(std::atomic<uint32_t>::is_always_lock_free && sizeof(std::atomic<uint32_t>) == 4,
              "futex words must be plain 32-bit atomics");

/// A sealed memfd holding one Layout, mapped shared (creator), or a peer's mapping of one.
class SharedPage {
  public:
    SharedPage();                            ///< creates, sizes and seals a new one
    SharedPage(int fd, std::size_t bytes);   ///< maps a peer's; refuses one that could shrink
    ~SharedPage();
    SharedPage(const SharedPage&) = delete;
    SharedPage& operator=(const SharedPage&) = delete;

    Layout& layout() const noexcept { return *layout_; }
    int fd() const noexcept { return fd_; }  ///< -1 for a peer's (the caller closes its fd)
    static std::size_t bytes() noexcept;

  private:
    Layout* layout_ = nullptr;
    int fd_ = -1;
};

}  // namespace mailbox

/// The listening engine's end: one thread serving one linked peer's mailbox until close().
class MailboxServer {
  public:
    explicit MailboxServer(std::shared_ptr<Engine> engine);
    ~MailboxServer();
    MailboxServer(const MailboxServer&) = delete;
    MailboxServer& operator=(const MailboxServer&) = delete;

    int fd() const noexcept { return page_.fd(); }
    /// Stops the thread and drops the lease it holds (the pin goes). Idempotent.
    void close();
    bool holds_lease() const noexcept { return holds_lease_.load(std::memory_order_relaxed); }

  private:
    void serve();
    void handle(const mailbox::Request& request, mailbox::Reply& reply);
    void grant(Lease lease, uint32_t timeout_ms, mailbox::Reply& reply);
    bool wait_for_request(uint32_t handled);
    void sleep_ms(int32_t ms) const;  ///< an injected delay, cut short by close()

    std::shared_ptr<Engine> engine_;
    mailbox::SharedPage page_;
    std::optional<Lease> lease_;  ///< the serving thread's only
    std::chrono::steady_clock::time_point lease_until_;
    std::atomic<bool> holds_lease_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// What a pull writes into: the local half of pull_cache / pull_blocks.
struct PullTarget {
    int64_t dst_id = 0;
    uint32_t batch_index = 0;
    int64_t size = -1;
    std::vector<int64_t> src_blocks;
    std::vector<int64_t> dst_blocks;
    TensorMapping mapping;
};

/// The linking engine's end: its mapping of a listener's mailbox and of the listener's pools.
class MailboxClient {
  public:
    /// `label` names the listener in errors ("cluster 1 at 127.0.0.1:26000").
    MailboxClient(int fd, std::size_t bytes, std::string label,
                  std::map<uint32_t, std::shared_ptr<PeerRegion>> regions);

    /// A pull through the mailbox: lease, copy, commit. Returns false, having changed nothing,
    /// when the remote cache must go through the control channel instead. Throws CoreError.
    bool pull(Engine& engine, const RemoteKey& key, bool blocks, const PullTarget& target, int64_t remaining_ms);
    /// push_cache into (cache_id, batch_index) of the listener, likewise.
    bool push(Engine& engine, int64_t cache_id, uint32_t batch_index, int64_t src_id, uint32_t src_batch_index,
              const TensorMapping& mapping, int64_t remaining_ms);
    /// A request that does nothing: the bare round trip of the mailbox (benchmarks).
    void ping(int64_t timeout_ms);

  private:
    using Clock = std::chrono::steady_clock;
    /// Posts the request written into the page and waits for its reply until `until`.
    void exchange(const char* what, Clock::time_point until, int64_t timeout_ms);
    /// Sends the lease request written into the page, runs `plan(leased cache)` -> (copies,
    /// tensors transferred) and commits them; a failure before the commit releases the lease.
    template <class Plan>
    bool leased_transfer(Engine& engine, const char* what, Clock::time_point until, int64_t timeout_ms, Plan&& plan);
    /// The leased cache of the reply just received; throws its error status.
    std::optional<PeerCache> leased(const char* what);
    void commit(const std::vector<uint32_t>& tensors, Clock::time_point until, int64_t timeout_ms);
    void release() noexcept;

    mailbox::SharedPage page_;
    std::string label_;
    std::map<uint32_t, std::shared_ptr<PeerRegion>> regions_;
    uint32_t seq_ = 0;
    std::mutex mutex_;  ///< one transfer at a time per link
};

}  // namespace llm_datadist_ref
