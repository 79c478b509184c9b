// pull_cache, pull_blocks and push_cache between two engines of this process.
#include <string>

#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
void register_transfer(EngineClass& engine) {
    engine.def(
        "pull_cache",
        [](Engine& self, Engine& remote, int64_t key_kind, py::handle a, py::handle b, py::handle c, int64_t dst_id,
           py::handle batch_index, py::handle size, py::handle src_tensor_indices, py::handle dst_tensor_indices) {
            if (key_kind == 2) {
                throw py::value_error("pull_cache does not take a BlocksCacheKey");
            }
            const RemoteKey key = read_key(key_kind, a, b, c);
            const uint32_t dst_index = read_u32(batch_index, "batch_index");
            const int64_t size_bytes = read_int64(size, "size");
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            const Deadline deadline = begin_operation(self, Operation::kPullCache);
            const CopyPlan plan =
                self.plan_pull(remote, key, dst_id, dst_index, size_bytes, {}, {}, false, mapping, deadline);
            run_plan(self, plan);
        },
        py::arg("remote"), py::arg("key_kind"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("dst_id"),
        py::arg("batch_index"), py::arg("size"), py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"),
        "Copies a remote batch slice (by key or by (cache_id, batch_index)) into batch `batch_index` of a local "
        "cache; a pull by a bound key releases that key on the remote.");
    engine.def(
        "pull_blocks",
        [](Engine& self, Engine& remote, int64_t key_kind, py::handle a, py::handle b, py::handle c, int64_t dst_id,
           py::handle src_blocks, py::handle dst_blocks, py::handle src_tensor_indices, py::handle dst_tensor_indices) {
            const RemoteKey key = read_key(key_kind, a, b, c);
            const std::vector<int64_t> src = read_index_list(src_blocks, "src_blocks");
            const std::vector<int64_t> dst = read_index_list(dst_blocks, "dst_blocks");
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            const Deadline deadline = begin_operation(self, Operation::kPullBlocks);
            const CopyPlan plan = self.plan_pull(remote, key, dst_id, 0, -1, src, dst, true, mapping, deadline);
            run_plan(self, plan);
        },
        py::arg("remote"), py::arg("key_kind"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("dst_id"),
        py::arg("src_blocks"), py::arg("dst_blocks"), py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"),
        "Copies remote blocks (BlocksCacheKey) or a remote batch slice into local blocks. Keys are not released.");
    engine.def(
        "push_cache",
        [](Engine& self, Engine& remote, int64_t remote_cache_id, py::handle remote_batch_index, int64_t src_id,
           py::handle src_batch_index, py::handle src_tensor_indices, py::handle dst_tensor_indices) {
            const uint32_t remote_index = read_u32(remote_batch_index, "dst batch_index");
            const uint32_t src_index = read_u32(src_batch_index, "src_batch_index");
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            const Deadline deadline = begin_operation(self, Operation::kPushCache);
            const CopyPlan plan =
                self.plan_push(remote, remote_cache_id, remote_index, src_id, src_index, mapping, deadline);
            run_plan(self, plan);
        },
        py::arg("remote"), py::arg("remote_cache_id"), py::arg("remote_batch_index"), py::arg("src_id"),
        py::arg("src_batch_index"), py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"),
        "Copies batch slice src_batch_index of a local cache into (remote_cache_id, remote_batch_index) of the "
        "remote, releasing the key bound there.");
}

}  // namespace llm_datadist_ref
