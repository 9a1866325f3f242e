// The data sets' simplest predictors (see baselines.hpp).
#include <datamux/tasks/baselines.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace datamux::runtime {
namespace {

// Counts with the order of first appearance, so that ties go to the first seen (deterministic).
struct TagCounts {
  std::vector<std::pair<std::string, int64_t>> counts;
  void add(const std::string& tag) {
    for (auto& [t, n] : counts)
      if (t == tag) {
        ++n;
        return;
      }
    counts.emplace_back(tag, 1);
  }
  const std::string& best() const {
    const auto* top = &counts.front();
    for (const auto& c : counts)
      if (c.second > top->second) top = &c;
    return top->first;
  }
};

}  // namespace

Baseline most_frequent_tag(const std::vector<std::vector<std::string>>& words,
                           const std::vector<std::vector<std::string>>& tags, const std::vector<int64_t>& train,
                           const std::vector<int64_t>& test, int64_t max_words) {
  std::unordered_map<std::string, TagCounts> per_word;
  TagCounts overall;
  for (int64_t e : train) {
    const auto& w = words[static_cast<std::size_t>(e)];
    const auto& t = tags[static_cast<std::size_t>(e)];
    for (std::size_t k = 0; k < w.size() && k < t.size(); ++k) {
      per_word[w[k]].add(t[k]);
      overall.add(t[k]);
    }
  }
  Baseline b{"most frequent tag per word (unseen words: the most frequent tag)", 0.0};
  if (overall.counts.empty()) return b;
  std::unordered_map<std::string, std::string> best;
  for (const auto& [w, c] : per_word) best.emplace(w, c.best());
  const std::string& fallback = overall.best();
  int64_t right = 0, total = 0;
  for (int64_t e : test) {
    const auto& w = words[static_cast<std::size_t>(e)];
    const auto& t = tags[static_cast<std::size_t>(e)];
    const std::size_t n = std::min(w.size(), t.size());
    for (std::size_t k = 0; k < n && (max_words <= 0 || static_cast<int64_t>(k) < max_words); ++k) {
      auto it = best.find(w[k]);
      right += (it == best.end() ? fallback : it->second) == t[k];
      ++total;
    }
  }
  b.accuracy = total ? static_cast<double>(right) / static_cast<double>(total) : 0.0;
  return b;
}

Baseline majority_class(const std::vector<int32_t>& labels, const std::vector<int64_t>& train,
                        const std::vector<int64_t>& test) {
  std::map<int32_t, int64_t> counts;
  for (int64_t e : train) ++counts[labels[static_cast<std::size_t>(e)]];
  Baseline b{"majority class", 0.0};
  if (counts.empty() || test.empty()) return b;
  const auto top = std::max_element(counts.begin(), counts.end(),
                                    [](const auto& a, const auto& c) { return a.second < c.second; });
  int64_t right = 0;
  for (int64_t e : test) right += labels[static_cast<std::size_t>(e)] == top->first;
  b.accuracy = static_cast<double>(right) / static_cast<double>(test.size());
  return b;
}

}  // namespace datamux::runtime
