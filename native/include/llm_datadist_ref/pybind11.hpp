// Shared pybind11 setup of the bindings; include it first in every register_*.cpp.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "llm_datadist_ref/deadline.hpp"
#include "llm_datadist_ref/engine.hpp"

namespace py = pybind11;

namespace llm_datadist_ref {

using EngineClass = py::class_<Engine, std::shared_ptr<Engine>>;

void register_status(py::module_& m);
EngineClass register_pools(py::module_& m);
void register_caches(py::module_& m, EngineClass& engine);
void register_copies(EngineClass& engine);
void register_swap(EngineClass& engine);
void register_transfer(EngineClass& engine);
void register_remote(py::module_& m, EngineClass& engine);
void register_mailbox(py::module_& m, EngineClass& engine);
void register_testing(py::module_& m);
void register_bench(py::module_& m);

/// Starts an operation: applies an injected `testing.delay` (sleeping without the GIL) and
/// returns the deadline the operation must meet.
Deadline begin_operation(const Engine& engine, Operation op);
/// The same for allocate and deallocate: an unstarted deadline (no clock read) unless a delay is
/// injected; the engine starts it before anything that may take long.
Deadline begin_quick_operation(const Engine& engine, Operation op);

/// Records the front end's Cache class (llm_datadist_ref._types.Cache sets it on import).
void set_cache_class(py::handle cls);
/// A Cache handle of a cache just allocated: every slot set as Cache.__init__ sets them.
py::object new_cache_handle(int64_t cache_id, py::handle cache_desc, py::handle tensor_addrs, py::handle manager,
                            py::handle geometry, bool is_blocks);

/// Runs a copy plan, releasing the GIL when it moves enough bytes to be worth it.
void run_plan(const Engine& engine, const CopyPlan& plan);

/// Runs a copy or swap plan that changes nothing but bytes (copy_cache, copy_blocks, swap_blocks)
/// so that Ctrl-C stops it: in slices of 64 MiB, checking for signals between them. A
/// KeyboardInterrupt leaves part of the destination written and nothing else changed. Pulls and
/// pushes, which release keys, always run to completion.
void run_interruptible(const Engine& engine, const CopyPlan& plan);
void run_interruptible(Engine& engine, const SwapPlan& plan);

/// Reads a Python int (bool included, as isinstance(x, int) does) into int64. Raises TypeError for
/// other types and ValueError when it does not fit.
int64_t read_int64(py::handle value, const char* name);
uint64_t read_uint64(py::handle value, const char* name);
/// A Python int in [0, 2**32).
uint32_t read_u32(py::handle value, const char* name);
/// The key of a remote transfer from its kind (0 CacheKey, 1 by id and index, 2 BlocksCacheKey)
/// and figures (req_id, prefix_id, model_id / cache_id, batch_index / model_id).
RemoteKey read_key(int64_t kind, py::handle a, py::handle b, py::handle c);

/// copy_block_info: Dict[int, List[int]] -> (src, dst) pairs in iteration order.
std::vector<IndexPair> read_block_copy_info(py::handle info);
/// src_to_dst: Dict[int, int] -> (src, dst) pairs in iteration order.
std::vector<IndexPair> read_index_dict(py::handle info, const char* name);
/// A list or tuple of ints.
std::vector<int64_t> read_index_list(py::handle values, const char* name);
/// A list or tuple of exact ints in int64 range into `out`; false (out unspecified) otherwise.
bool read_exact_index_list(py::handle values, std::vector<int64_t>& out);
std::vector<uint32_t> read_tensor_indices(py::handle values, const char* name);
/// A transfer's src_tensor_indices / dst_tensor_indices (empty: every tensor, index to index).
TensorMapping read_mapping(py::handle src, py::handle dst);

}  // namespace llm_datadist_ref
