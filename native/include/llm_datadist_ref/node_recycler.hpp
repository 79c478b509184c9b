// Reuse of the nodes of a node-based map (std::map, std::unordered_map), so that a map whose
// entries come and go at about the same rate (a cache allocated and freed per request) does not
// allocate and free a node on the heap for every insert and erase.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace llm_datadist_ref {

/// Keeps up to `Capacity` nodes of erased entries and hands them to later inserts. A kept node
/// holds a default-constructed value, so nothing of the erased entry survives in it.
template <typename Map, std::size_t Capacity = 64>
class NodeRecycler {
  public:
    NodeRecycler() { spare_.reserve(Capacity); }

    /// map.emplace(key, value) for a key not in `map`, in a kept node when there is one. May throw
    /// (std::bad_alloc, from the map's growth); `map` is then unchanged.
    typename Map::iterator insert(Map& map, const typename Map::key_type& key, typename Map::mapped_type value) {
        if (spare_.empty()) {
            return map.emplace(key, std::move(value)).first;
        }
        typename Map::node_type node = std::move(spare_.back());
        spare_.pop_back();
        node.key() = key;
        node.mapped() = std::move(value);
        return map.insert(std::move(node)).position;
    }

    /// map.erase(it), keeping the node (with its value reset) unless enough are kept already.
    void erase(Map& map, typename Map::iterator it) noexcept {
        typename Map::node_type node = map.extract(it);
        if (spare_.size() < Capacity) {
            node.mapped() = typename Map::mapped_type{};  // drops what the value owned, now
            spare_.push_back(std::move(node));          // cannot throw: reserved
        }
    }

    std::size_t kept() const noexcept { return spare_.size(); }

  private:
    std::vector<typename Map::node_type> spare_;
};

}  // namespace llm_datadist_ref
