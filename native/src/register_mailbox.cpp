// The same-host fast path of transfers between processes: a listener's mailbox server, a link's
// mailbox client, and pulls and pushes through it (the GIL is released for the whole exchange).
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "llm_datadist_ref/mailbox.hpp"
#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {

void register_mailbox(py::module_& m, EngineClass& engine) {
    py::class_<MailboxServer, std::shared_ptr<MailboxServer>>(
        m, "MailboxServer",
        "A listener's end of one peer's mailbox: a thread that leases and commits for it until close().")
        .def(py::init([](std::shared_ptr<Engine> serving) {
                 if (!serving) {
                     throw py::type_error("MailboxServer needs an Engine, not None");
                 }
                 return std::make_shared<MailboxServer>(std::move(serving));
             }),
             py::arg("engine"))
        .def_property_readonly("fd", &MailboxServer::fd, "The sealed memfd to hand the peer.")
        .def_property_readonly_static("bytes", [](py::handle) { return mailbox::SharedPage::bytes(); })
        .def_property_readonly("holds_lease", &MailboxServer::holds_lease)
        .def("close", &MailboxServer::close, py::call_guard<py::gil_scoped_release>(),
             "Stops the thread and drops its lease. Idempotent.");
    py::class_<MailboxClient, std::shared_ptr<MailboxClient>>(
        m, "MailboxClient", "A link's end of a listener's mailbox, with its mappings of the listener's pools.")
        .def(py::init<int, std::size_t, std::string, std::map<uint32_t, std::shared_ptr<PeerRegion>>>(),
             py::arg("fd"), py::arg("bytes"), py::arg("label"), py::arg("regions"))
        .def("ping", &MailboxClient::ping, py::arg("timeout_ms"), py::call_guard<py::gil_scoped_release>(),
             "A request that does nothing: the mailbox's bare round trip.");

    engine.def(
        "pull_via_mailbox",
        [](Engine& self, MailboxClient& client, int64_t key_kind, py::handle a, py::handle b, py::handle c,
           int64_t dst_id, py::handle batch_index, py::handle size, py::handle src_blocks, py::handle dst_blocks,
           bool blocks, py::handle src_tensor_indices, py::handle dst_tensor_indices, int64_t remaining_ms) {
            const RemoteKey key = read_key(key_kind, a, b, c);
            PullTarget target;
            target.dst_id = dst_id;
            target.batch_index = read_u32(batch_index, "batch_index");
            target.size = read_int64(size, "size");
            target.src_blocks = read_index_list(src_blocks, "src_blocks");
            target.dst_blocks = read_index_list(dst_blocks, "dst_blocks");
            target.mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            py::gil_scoped_release release;
            return client.pull(self, key, blocks, target, remaining_ms);
        },
        py::arg("client"), py::arg("key_kind"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("dst_id"),
        py::arg("batch_index"), py::arg("size"), py::arg("src_blocks"), py::arg("dst_blocks"), py::arg("blocks"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "pull_cache / pull_blocks through the listener's mailbox; False (nothing done) when the remote "
        "cache must go through the control channel.");
    engine.def(
        "quick_pull_via_mailbox",
        [](Engine& self, MailboxClient& client, py::handle key, int64_t dst_id, py::handle batch_index,
           py::handle blocks) {
            const bool is_blocks = !blocks.is_none();
            // An injected delay is applied by the full path (RemoteLink.pull), with its timeout.
            if (OperationDelays::get(is_blocks ? Operation::kPullBlocks : Operation::kPullCache) > 0) {
                return false;
            }
            if (!PyTuple_Check(key.ptr()) || PyTuple_GET_SIZE(key.ptr()) != 4) {
                throw py::type_error("key must be a (kind, a, b, c) tuple");
            }
            const auto item = [&](Py_ssize_t i) { return py::handle(PyTuple_GET_ITEM(key.ptr(), i)); };
            const RemoteKey remote_key = read_key(read_int64(item(0), "key kind"), item(1), item(2), item(3));
            PullTarget target;
            target.dst_id = dst_id;
            target.batch_index = read_u32(batch_index, "batch_index");
            if (is_blocks) {
                if (!PyTuple_Check(blocks.ptr()) || PyTuple_GET_SIZE(blocks.ptr()) != 2) {
                    throw py::type_error("blocks must be a (src_blocks, dst_blocks) tuple or None");
                }
                // Lists of anything else get the front end's checks and errors.
                if (!read_exact_index_list(PyTuple_GET_ITEM(blocks.ptr(), 0), target.src_blocks) ||
                    !read_exact_index_list(PyTuple_GET_ITEM(blocks.ptr(), 1), target.dst_blocks)) {
                    return false;
                }
            }
            const int64_t timeout_ms = self.timeout_ms();
            py::gil_scoped_release release;
            return client.pull(self, remote_key, is_blocks, target, timeout_ms);
        },
        py::arg("client"), py::arg("key"), py::arg("dst_id"), py::arg("batch_index"), py::arg("blocks"),
        "The common pull_cache (blocks None) or pull_blocks (blocks (src_blocks, dst_blocks)) of a whole "
        "slice or whole blocks through the mailbox, within sync_kv_timeout; False (nothing done) when an "
        "injected delay applies, a block list is not a list or tuple of exact ints, or the remote cache must go "
        "through the control channel.");
    engine.def(
        "push_via_mailbox",
        [](Engine& self, MailboxClient& client, int64_t cache_id, py::handle batch_index, int64_t src_id,
           py::handle src_batch_index, py::handle src_tensor_indices, py::handle dst_tensor_indices,
           int64_t remaining_ms) {
            const uint32_t remote_batch = read_u32(batch_index, "batch_index");
            const uint32_t src_batch = read_u32(src_batch_index, "src_batch_index");
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            py::gil_scoped_release release;
            return client.push(self, cache_id, remote_batch, src_id, src_batch, mapping, remaining_ms);
        },
        py::arg("client"), py::arg("cache_id"), py::arg("batch_index"), py::arg("src_id"), py::arg("src_batch_index"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "push_cache through the listener's mailbox; False (nothing done) as pull_via_mailbox.");
}

}  // namespace llm_datadist_ref
