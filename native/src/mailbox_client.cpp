// The linking side of a mailbox: a pull or push is a lease and a commit through the shared page
// around one copy between this engine's cache and its mapping of the listener's pool.
#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "llm_datadist_ref/futex.hpp"
#include "llm_datadist_ref/mailbox.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

constexpr auto kSpin = std::chrono::microseconds(50);
constexpr auto kSleepSlice = std::chrono::milliseconds(50);
constexpr auto kReleaseWait = std::chrono::milliseconds(200);

/// A status a reply may carry; anything else reads as FAILED.
StatusCode known_status(int64_t value) {
    for (const StatusCode code :
         {StatusCode::kWaitProcessTimeout, StatusCode::kKvCacheNotExist, StatusCode::kParamInvalid,
          StatusCode::kEngineFinalized, StatusCode::kNotYetLink, StatusCode::kFeatureNotEnabled, StatusCode::kTimeout,
          StatusCode::kOutOfMemory}) {
        if (static_cast<int64_t>(code) == value) {
            return code;
        }
    }
    return StatusCode::kFailed;
}

uint32_t timeout_field(int64_t remaining_ms) {
    return static_cast<uint32_t>(std::clamp<int64_t>(remaining_ms, 1, INT32_MAX));
}

}  // namespace

MailboxClient::MailboxClient(int fd, std::size_t bytes, std::string label,
                             std::map<uint32_t, std::shared_ptr<PeerRegion>> regions)
    : page_(fd, bytes), label_(std::move(label)), regions_(std::move(regions)) {
    seq_ = page_.layout().request_seq.load(std::memory_order_acquire);
}

void MailboxClient::exchange(const char* what, Clock::time_point until, int64_t timeout_ms) {
    mailbox::Layout& shared = page_.layout();
    if (++seq_ == 0) {
        ++seq_;  // 0 is the state of a fresh mailbox, never a request's number
    }
    const uint32_t seq = seq_;
    shared.request_seq.store(seq, std::memory_order_seq_cst);
    if (shared.server_sleeping.load(std::memory_order_seq_cst) != 0) {
        futex_wake(shared.request_seq);
    }
    shared.client_cpu.store(cpu_tag(), std::memory_order_relaxed);
    busy_wait([&] { return shared.reply_seq.load(std::memory_order_acquire) == seq; },
              std::min(until, Clock::now() + kSpin), [&] { return apart_from(shared.server_cpu); });
    while (true) {
        const uint32_t seen = shared.reply_seq.load(std::memory_order_acquire);
        if (seen == seq) {
            return;
        }
        const auto now = Clock::now();
        if (now >= until) {
            throw_status(StatusCode::kTimeout, label_ + " did not answer '" + what + "' within " +
                                                   std::to_string(timeout_ms) + " ms");
        }
        shared.client_sleeping.store(1, std::memory_order_seq_cst);
        if (shared.reply_seq.load(std::memory_order_seq_cst) == seen) {
            futex_wait(shared.reply_seq, seen, std::min<Clock::duration>(until - now, kSleepSlice));
        }
        shared.client_sleeping.store(0, std::memory_order_relaxed);
    }
}

std::optional<PeerCache> MailboxClient::leased(const char* what) {
    const mailbox::Reply& reply = page_.layout().reply;
    const int64_t status = reply.status;
    if (status == mailbox::kUseControlChannel) {
        return std::nullopt;
    }
    if (status != 0) {
        const std::size_t bytes = std::min<std::size_t>(reply.message_bytes, mailbox::kMaxMessage);
        throw CoreError(known_status(status), label_ + ": " + std::string(reply.message, bytes));
    }
    const uint32_t num_tensors = reply.num_tensors;
    const uint32_t placement = reply.placement;
    if (num_tensors == 0 || num_tensors > mailbox::kMaxTensors) {
        throw_status(StatusCode::kFailed, std::string("malformed lease for ") + what + " from " + label_);
    }
    const auto region = regions_.find(placement);
    if (region == regions_.end()) {
        throw_status(StatusCode::kFailed, "no mapped pool of placement " + std::to_string(placement) + " at " + label_);
    }
    std::vector<uint64_t> offsets(num_tensors);
    std::memcpy(offsets.data(), reply.offsets, num_tensors * sizeof(uint64_t));
    return make_peer_cache(region->second, num_tensors, reply.tensor_bytes, reply.batch_size, reply.is_blocks != 0,
                           reply.batch_index, offsets);
}

void MailboxClient::commit(const std::vector<uint32_t>& tensors, Clock::time_point until, int64_t timeout_ms) {
    mailbox::Request& request = page_.layout().request;
    request.op = static_cast<uint32_t>(mailbox::Op::kCommit);
    request.num_tensors = static_cast<uint32_t>(std::min<std::size_t>(tensors.size(), mailbox::kMaxTensors));
    std::copy_n(tensors.begin(), request.num_tensors, request.tensors);
    exchange("commit", until, timeout_ms);
    const mailbox::Reply& reply = page_.layout().reply;
    if (const int64_t status = reply.status; status != 0) {
        const std::size_t bytes = std::min<std::size_t>(reply.message_bytes, mailbox::kMaxMessage);
        throw CoreError(known_status(status), label_ + ": " + std::string(reply.message, bytes));
    }
}

void MailboxClient::release() noexcept {
    // Waited for (briefly) so that the listener shows no lease once the failed call returns; an
    // unreachable listener ends the lease on the next lease request or at its expiry.
    page_.layout().request.op = static_cast<uint32_t>(mailbox::Op::kRelease);
    try {
        exchange("release", Clock::now() + kReleaseWait, kReleaseWait.count());
    } catch (...) {  // NOLINT(bugprone-empty-catch): best effort, as documented above
    }
}

void MailboxClient::ping(int64_t timeout_ms) {
    std::lock_guard<std::mutex> lock(mutex_);
    page_.layout().request.op = static_cast<uint32_t>(mailbox::Op::kPing);
    exchange("ping", Clock::now() + std::chrono::milliseconds(timeout_ms), timeout_ms);
}

template <class Plan>
bool MailboxClient::leased_transfer(Engine& engine, const char* what, Clock::time_point until, int64_t timeout_ms,
                                    Plan&& plan) {
    page_.layout().request.timeout_ms = timeout_field(timeout_ms);
    exchange(what, until, timeout_ms);
    std::vector<uint32_t> transferred;
    try {
        const std::optional<PeerCache> peer = leased(what);
        if (!peer) {
            return false;
        }
        auto [copies, tensors] = plan(*peer);
        engine.run(copies);
        transferred = std::move(tensors);
    } catch (...) {
        release();
        throw;
    }
    commit(transferred, until, timeout_ms);
    return true;
}

bool MailboxClient::pull(Engine& engine, const RemoteKey& key, bool blocks, const PullTarget& target,
                         int64_t remaining_ms) {
    const auto start = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    mailbox::Request& request = page_.layout().request;
    request.op = static_cast<uint32_t>(mailbox::Op::kLease);
    request.key_kind = static_cast<uint32_t>(key.kind);
    switch (key.kind) {
        case RemoteKey::Kind::kCacheKey:
            request.a = key.key.req_id, request.b = key.key.prefix_id, request.c = key.key.model_id;
            break;
        case RemoteKey::Kind::kById:
            request.a = static_cast<uint64_t>(key.cache_id), request.b = key.batch_index, request.c = 0;
            break;
        case RemoteKey::Kind::kBlocks:
            request.a = key.model_id, request.b = 0, request.c = 0;
            break;
    }
    request.blocks = blocks ? 1U : 0U;
    return leased_transfer(engine, blocks ? "pull_blocks" : "pull_cache",
                           start + std::chrono::milliseconds(remaining_ms), remaining_ms, [&](const PeerCache& source) {
                               return engine.plan_pull_from_peer(source, key.kind, target.dst_id, target.batch_index,
                                                                 target.size, target.src_blocks, target.dst_blocks,
                                                                 blocks, target.mapping, Deadline(start, remaining_ms));
                           });
}

bool MailboxClient::push(Engine& engine, int64_t cache_id, uint32_t batch_index, int64_t src_id,
                         uint32_t src_batch_index, const TensorMapping& mapping, int64_t remaining_ms) {
    const auto start = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    mailbox::Request& request = page_.layout().request;
    request.op = static_cast<uint32_t>(mailbox::Op::kLeasePush);
    request.a = static_cast<uint64_t>(cache_id), request.b = batch_index, request.c = 0;
    return leased_transfer(engine, "push_cache", start + std::chrono::milliseconds(remaining_ms), remaining_ms,
                           [&](const PeerCache& target) {
                               return engine.plan_push_to_peer(target, src_id, src_batch_index, mapping,
                                                               Deadline(start, remaining_ms));
                           });
}

}  // namespace llm_datadist_ref
