"""llm_datadist_alt: a second, independent pure-Python implementation of the legacy
llm_datadist CacheManager surface, written from the seed document (待废弃), the spec
derived from it (spec/) and the vendor notes (as-shipped.md), for the suite's meta-tests.

Memory is host RAM: each pool is one anonymous mapping carved into page-aligned
regions; ``Cache.tensor_addrs`` are host addresses. Several engines live in one
process; a DECODER links to a PROMPT listening on ``listen_ip_info`` through a
process-wide registry. The init option ``llm_datadist_alt.product`` (default
"atlas-a3") selects the product line to emulate.

Choices where the document is silent:

* Errors: wrong argument types raise TypeError (bool is not accepted as an int);
  out-of-range ints and other bad argument values raise ValueError; engine and
  state failures raise LLMException (default status LLM_FAILED). More keys than the
  batch size, or a key already bound to a live cache: LLMException(LLM_PARAM_INVALID).
  No pool for the cache's placement: LLMException(LLM_PARAM_INVALID). Pool too
  small: LLMException(LLM_OUT_OF_MEMORY).
* Keys: a key is its four fields (cluster_id included). A key whose req_id is
  UINT64_MAX is a placeholder: it holds its batch index and binds nothing. A
  duplicated key binds the batch index of its last occurrence; earlier occurrences
  leave their index unbound. No role checks: any engine may bind keys.
* Releases: a successful pull_cache by CacheKey releases the key once every tensor
  has been pulled (layer ranges may split that over several pulls); a pull by
  CacheKeyByIdAndIndex or pull_blocks releases nothing; push_cache releases the key
  bound to the pushed batch index. deallocate_cache and deallocate_blocks_cache
  both release the cache_id reference of any cache of this engine (a blocks cache
  has no keys, so it goes at once); caches of other engines and cpu caches are
  "absent" (no-op). Released caches keep their tensor_addrs; using them in a copy
  raises LLMException(LLM_KV_CACHE_NOT_EXIST).
* Pools: validated at assignment on LLMConfig (and again at init, where a bad value
  gives LLMException(LLM_PARAM_INVALID)); the host pool cap "20G" is read as
  20 * 2**30 bytes. A pool spans exactly memory_size bytes: regions start on page
  boundaries and take whole pages, except that the last region may end at
  memory_size. Each tensor of a cache starts on its own page. Memory is not zeroed.
* CacheDesc: num_tensors >= 1, dims >= 0, batch_dim_index must name a dimension,
  DT_STRING is refused (ValueError). CacheKeyByIdAndIndex.cache_id is an int64.
* copy_cache: the caches match when num_tensors and data_type agree; offset and
  size count within the batch slice; size -1 copies the rest of the source slice
  from offset. Every index and range is checked before any byte moves (ValueError).
* copy_blocks / swap_blocks: block i is batch index i; all source blocks are read
  before any is written. copy_blocks accepts any cache of this engine or a cpu
  cache. swap_blocks needs one HOST and one DEVICE cache with equal tensor counts
  and block sizes (ValueError otherwise); None arguments raise AttributeError.
* sync_kv_timeout (default 1000 ms): checked once the arguments are validated and
  before any state is read or changed, so a timed-out call has no effect.
* Product lines without the feature sets (atlas-a2-training, atlas-200i-500-a2,
  atlas-inference, atlas-training): the eight legacy methods and pull_cache /
  pull_blocks / push_cache raise LLMException(LLM_FEATURE_NOT_ENABLED); no pools are
  mapped there. A finalized engine's CacheManager raises LLM_ENGINE_FINALIZED.
* link_clusters returns LLM_ALREADY_LINK for a cluster already linked and
  LLM_LINK_FAILED when no engine with that cluster id listens on the given address.
"""

from __future__ import annotations

from ._cache_manager import CacheManager
from ._config import LLMConfig, LlmConfig
from ._datadist import PRODUCT_OPTION, LLMDataDist
from ._status import LLMException, LLMStatusCode
from ._types import (
    BlocksCacheKey,
    Cache,
    CacheDesc,
    CacheKey,
    CacheKeyByIdAndIndex,
    DataType,
    LLMClusterInfo,
    LLMRole,
    Placement,
)

__version__ = "0.1.0"
__conformance_adapter__ = "llm_datadist_alt.adapter:AltAdapter"

__all__ = [
    "PRODUCT_OPTION",
    "BlocksCacheKey",
    "Cache",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "CacheManager",
    "DataType",
    "LLMClusterInfo",
    "LLMConfig",
    "LLMDataDist",
    "LLMException",
    "LLMRole",
    "LLMStatusCode",
    "LlmConfig",
    "Placement",
]
