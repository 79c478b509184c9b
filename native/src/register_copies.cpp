// copy_cache and copy_blocks.
#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {

void register_copies(EngineClass& engine) {
    engine.def(
        "copy_cache",
        [](Engine& self, int64_t dst_id, int64_t src_id, py::handle dst_batch_index, py::handle src_batch_index,
           py::handle offset, py::handle size) {
            const int64_t dst_index = read_int64(dst_batch_index, "dst_batch_index");
            const int64_t src_index = read_int64(src_batch_index, "src_batch_index");
            const uint64_t offset_bytes = read_uint64(offset, "offset");
            const int64_t size_bytes = read_int64(size, "size");
            if (dst_index < 0 || dst_index > static_cast<int64_t>(UINT32_MAX) || src_index < 0 ||
                src_index > static_cast<int64_t>(UINT32_MAX)) {
                throw py::value_error("batch index out of range of uint32");
            }
            const Deadline deadline = begin_operation(self, Operation::kCopyCache);
            const CopyPlan plan = self.plan_copy_cache(dst_id, src_id, static_cast<uint32_t>(dst_index),
                                                       static_cast<uint32_t>(src_index), offset_bytes, size_bytes,
                                                       deadline);
            run_interruptible(self, plan);
        },
        py::arg("dst_id"), py::arg("src_id"), py::arg("dst_batch_index"), py::arg("src_batch_index"),
        py::arg("offset"), py::arg("size"),
        "Per tensor, copies `size` bytes (-1: the rest of the batch slice) at `offset` within batch slice "
        "src_batch_index of src to the same offset of slice dst_batch_index of dst.");
    engine.def(
        "copy_blocks",
        [](Engine& self, int64_t cache_id, py::handle copy_block_info) {
            const std::vector<IndexPair> pairs = read_block_copy_info(copy_block_info);
            const Deadline deadline = begin_operation(self, Operation::kCopyBlocks);
            const CopyPlan plan = self.plan_copy_blocks(cache_id, pairs, deadline);
            run_interruptible(self, plan);
        },
        py::arg("cache_id"), py::arg("copy_block_info"),
        "For each {src: [dst, ...]} entry, copies block src to every dst block, in every tensor.");
}

}  // namespace llm_datadist_ref
