// The shared page of a mailbox and its serving thread (see mailbox.hpp).
#include "llm_datadist_ref/mailbox.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "llm_datadist_ref/futex.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace mailbox {
namespace {

constexpr std::size_t kPageBytes = (sizeof(Layout) + 4095) / 4096 * 4096;
constexpr unsigned kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

[[noreturn]] void system_failure(const std::string& what) {
    throw_status(StatusCode::kFailed, what + ": " + std::strerror(errno));
}

Layout* map_layout(int fd) {
    void* mapping = ::mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) {
        system_failure("cannot map a mailbox");
    }
    return static_cast<Layout*>(mapping);
}

}  // namespace

std::size_t SharedPage::bytes() noexcept { return kPageBytes; }

SharedPage::SharedPage() {
    fd_ = ::memfd_create("llm_datadist_ref-mailbox", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd_ < 0) {
        system_failure("cannot create a mailbox");
    }
    // Sealed so that a peer holding the fd cannot shrink it under this process's mapping (SIGBUS).
    if (::ftruncate(fd_, static_cast<off_t>(kPageBytes)) != 0 || ::fcntl(fd_, F_ADD_SEALS, kSeals) != 0) {
        const int saved = errno;
        ::close(fd_);
        errno = saved;
        system_failure("cannot size a mailbox");
    }
    try {
        layout_ = map_layout(fd_);
    } catch (...) {
        ::close(fd_);
        throw;
    }
    new (layout_) Layout{};  // zeroed by ftruncate; constructs the atomics formally
}

SharedPage::SharedPage(int fd, std::size_t bytes) {
    struct stat info {};
    if (fd < 0 || bytes != kPageBytes || ::fstat(fd, &info) != 0 ||
        static_cast<std::size_t>(info.st_size) != kPageBytes) {
        throw_status(StatusCode::kParamInvalid, "the remote cluster's mailbox has the wrong size");
    }
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (static_cast<unsigned>(seals) & F_SEAL_SHRINK) == 0) {
        throw_status(StatusCode::kParamInvalid, "the remote cluster's mailbox is not sealed against shrinking");
    }
    layout_ = map_layout(fd);
}

SharedPage::~SharedPage() {
    (void)::munmap(layout_, kPageBytes);
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

}  // namespace mailbox

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSpin = std::chrono::microseconds(50);   // stay awake this long for the next request
constexpr auto kLeaseGrace = std::chrono::seconds(1);   // as the control channel's leases
constexpr auto kIdleWake = std::chrono::milliseconds(100);

void set_message(mailbox::Reply& reply, int64_t status, const std::string& message) {
    reply.status = status;
    reply.message_bytes = static_cast<uint32_t>(std::min(message.size(), mailbox::kMaxMessage));
    std::memcpy(reply.message, message.data(), reply.message_bytes);
}

RemoteKey key_of(const mailbox::Request& request) {
    RemoteKey key;
    switch (request.key_kind) {
        case 0:
            key.kind = RemoteKey::Kind::kCacheKey;
            key.key = KeySpec{request.a, request.b, request.c};
            break;
        case 1:
            key.kind = RemoteKey::Kind::kById;
            if (request.b > UINT32_MAX) {
                throw_status(StatusCode::kParamInvalid, "batch index out of range");
            }
            key.cache_id = static_cast<int64_t>(request.a);  // two's complement: ids may be negative
            key.batch_index = static_cast<uint32_t>(request.b);
            break;
        case 2:
            key.kind = RemoteKey::Kind::kBlocks;
            key.model_id = request.a;
            break;
        default:
            throw_status(StatusCode::kParamInvalid, "unknown key kind " + std::to_string(request.key_kind));
    }
    return key;
}

}  // namespace

MailboxServer::MailboxServer(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {
    thread_ = std::thread([this] { serve(); });
}

MailboxServer::~MailboxServer() { close(); }

void MailboxServer::close() {
    if (stop_.exchange(true)) {
        return;
    }
    futex_wake(page_.layout().request_seq);
    if (thread_.joinable()) {
        thread_.join();
    }
    lease_.reset();
    holds_lease_.store(false);
}

void MailboxServer::serve() {
    mailbox::Layout& shared = page_.layout();
    uint32_t handled = 0;
    mailbox::Request request;
    while (wait_for_request(handled)) {
        const uint32_t seq = shared.request_seq.load(std::memory_order_acquire);
        // Copied out first, so that what is checked is what is used. An honest peer writes a new
        // request only after the previous one's reply, or once it gave up waiting for it (a
        // timeout); a request rewritten while it is copied is one more malformed request: every
        // field is checked, and the reply goes to a number that the peer no longer waits for.
        std::memcpy(&request, &shared.request, offsetof(mailbox::Request, tensors));
        if (request.op == static_cast<uint32_t>(mailbox::Op::kCommit) && request.num_tensors <= mailbox::kMaxTensors) {
            std::memcpy(request.tensors, shared.request.tensors, request.num_tensors * sizeof(uint32_t));
        }
        handle(request, shared.reply);
        handled = seq;
        shared.reply_seq.store(seq, std::memory_order_seq_cst);
        if (shared.client_sleeping.load(std::memory_order_seq_cst) != 0) {
            futex_wake(shared.reply_seq);
        }
    }
}

bool MailboxServer::wait_for_request(uint32_t handled) {
    mailbox::Layout& shared = page_.layout();
    const auto ready = [&] {
        return stop_.load(std::memory_order_relaxed) || shared.request_seq.load(std::memory_order_acquire) != handled;
    };
    shared.server_cpu.store(cpu_tag(), std::memory_order_relaxed);
    if (busy_wait(ready, Clock::now() + kSpin, [&] { return apart_from(shared.client_cpu); })) {
        return !stop_.load(std::memory_order_relaxed);
    }
    while (!stop_.load(std::memory_order_relaxed)) {
        if (lease_ && Clock::now() > lease_until_) {
            lease_.reset();  // the peer's transfer outlived its timeout: stop pinning
            holds_lease_.store(false);
        }
        shared.server_sleeping.store(1, std::memory_order_seq_cst);
        if (shared.request_seq.load(std::memory_order_seq_cst) == handled) {
            futex_wait(shared.request_seq, handled, kIdleWake);
        }
        shared.server_sleeping.store(0, std::memory_order_relaxed);
        if (shared.request_seq.load(std::memory_order_acquire) != handled) {
            return true;
        }
    }
    return false;
}

void MailboxServer::handle(const mailbox::Request& request, mailbox::Reply& reply) {
    try {
        reply.status = 0;
        reply.message_bytes = 0;
        switch (static_cast<mailbox::Op>(request.op)) {
            case mailbox::Op::kLease: {
                lease_.reset();
                holds_lease_.store(false);
                const bool blocks = request.blocks != 0;
                sleep_ms(OperationDelays::get(blocks ? Operation::kPullBlocks : Operation::kPullCache));
                grant(engine_->lease_source(key_of(request), blocks), request.timeout_ms, reply);
                return;
            }
            case mailbox::Op::kLeasePush: {
                lease_.reset();
                holds_lease_.store(false);
                if (request.b > UINT32_MAX) {
                    throw_status(StatusCode::kParamInvalid, "batch index out of range");
                }
                sleep_ms(OperationDelays::get(Operation::kPushCache));
                grant(engine_->lease_push_target(static_cast<int64_t>(request.a), static_cast<uint32_t>(request.b)),
                      request.timeout_ms, reply);
                return;
            }
            case mailbox::Op::kCommit: {
                if (!lease_ || request.num_tensors > mailbox::kMaxTensors) {
                    throw_status(StatusCode::kTimeout, "the lease expired before the transfer completed");
                }
                const std::vector<uint32_t> tensors(request.tensors, request.tensors + request.num_tensors);
                engine_->commit_lease(*lease_, tensors);
                lease_.reset();
                holds_lease_.store(false);
                return;
            }
            case mailbox::Op::kRelease:
                lease_.reset();
                holds_lease_.store(false);
                return;
            case mailbox::Op::kPing:
                return;
        }
        throw_status(StatusCode::kParamInvalid, "unknown mailbox request " + std::to_string(request.op));
    } catch (const CoreError& error) {
        set_message(reply, static_cast<int64_t>(error.code()), error.what());
    } catch (const std::exception& error) {
        set_message(reply, static_cast<int64_t>(StatusCode::kFailed), error.what());
    }
}

void MailboxServer::grant(Lease lease, uint32_t timeout_ms, mailbox::Reply& reply) {
    if (timeout_ms == 0 || timeout_ms > INT32_MAX) {
        throw_status(StatusCode::kParamInvalid, "a lease's timeout is a positive int32");
    }
    if (lease.tensor_offsets.size() > mailbox::kMaxTensors) {
        set_message(reply, mailbox::kUseControlChannel, "too many tensors for the mailbox");
        return;
    }
    reply.placement = static_cast<uint32_t>(lease.geometry.placement);
    reply.num_tensors = lease.geometry.num_tensors;
    reply.batch_size = lease.geometry.batch_size;
    reply.is_blocks = lease.geometry.is_blocks ? 1U : 0U;
    reply.batch_index = lease.batch_index;
    reply.tensor_bytes = lease.geometry.tensor_bytes;
    std::copy(lease.tensor_offsets.begin(), lease.tensor_offsets.end(), reply.offsets);
    lease_until_ = Clock::now() + std::chrono::milliseconds(timeout_ms) + kLeaseGrace;
    lease_ = std::move(lease);
    holds_lease_.store(true);
}

void MailboxServer::sleep_ms(int32_t ms) const {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (ms > 0 && !stop_.load(std::memory_order_relaxed) && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace llm_datadist_ref
