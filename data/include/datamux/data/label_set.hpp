// datamux/data/label_set.hpp - the class names of a task and their ids.
//
// Readers keep labels and tags as strings; a LabelSet built from the training split fixes the ids,
// is applied to every split, and is saved with the checkpoint (to_string/from_string, JSON) so that
// evaluation maps ids back to the same names.
//
//   LabelSet classes = LabelSet::build(train.labels);   // {"ham", "spam"}
//   std::vector<int32_t> y = classes.encode(test.labels, "test label");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace datamux::data {

class LabelSet {
 public:
  LabelSet() = default;
  /// Names in this order (id = position). Throws InputError on a duplicate or empty name.
  explicit LabelSet(std::vector<std::string> names);

  /// The distinct values, sorted: numerically when every value is an integer ("2" before "10"),
  /// otherwise as strings. Deterministic whatever the order of `values`.
  static LabelSet build(const std::vector<std::string>& values);
  /// Same over sentences of tags.
  static LabelSet build(const std::vector<std::vector<std::string>>& values);

  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  /// Throws std::out_of_range for an id outside [0, size).
  const std::string& name(int32_t id) const;
  /// -1 when `name` is not in the set.
  int32_t find(std::string_view name) const;
  /// Throws InputError "<what> '<name>' is not one of the N known labels (a, b, ...)".
  int32_t id(std::string_view name, std::string_view what = "label") const;
  /// Every value's id; an unknown value throws InputError naming `what` and its position.
  std::vector<int32_t> encode(const std::vector<std::string>& values, std::string_view what = "label") const;

  /// JSON {"format": "datamux-labels", "version": 1, "names": [...]}.
  std::string to_string() const;
  /// Throws InputError on malformed input.
  static LabelSet from_string(std::string_view text);

  bool operator==(const LabelSet& other) const { return names_ == other.names_; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace datamux::data
