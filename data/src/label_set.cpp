// LabelSet: class names <-> ids, built from a training split, saved as JSON.
#include <datamux/data/label_set.hpp>

#include <datamux/error.hpp>
#include <datamux/data/utf8.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

#include "versioned_json.hpp"

namespace datamux::data {

using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "datamux-labels";
constexpr int kVersion = 1;

bool parse_integer(const std::string& s, long long& value) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

LabelSet from_distinct(const std::set<std::string>& distinct) {
  std::vector<std::string> names(distinct.begin(), distinct.end());
  std::vector<std::pair<long long, std::string>> numeric;
  for (const std::string& n : names) {
    long long v = 0;
    if (!parse_integer(n, v)) return LabelSet(std::move(names));
    numeric.emplace_back(v, n);
  }
  std::sort(numeric.begin(), numeric.end());
  names.clear();
  for (auto& [v, n] : numeric) names.push_back(std::move(n));
  return LabelSet(std::move(names));
}

}  // namespace

LabelSet::LabelSet(std::vector<std::string> names) : names_(std::move(names)) {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i].empty()) throw InputError("label set: label " + std::to_string(i) + " is empty");
    // Saved as JSON with the checkpoint, which needs UTF-8; readers reject such labels with the file
    // and line first, this is the backstop for labels from elsewhere.
    if (first_invalid_utf8(names_[i]) != std::string_view::npos) {
      throw InputError("label set: label " + std::to_string(i) + " ('" + repair_utf8(names_[i]) +
                       "') is not valid UTF-8");
    }
    if (!ids_.emplace(names_[i], static_cast<int32_t>(i)).second) {
      throw InputError("label set: '" + names_[i] + "' appears twice");
    }
  }
}

LabelSet LabelSet::build(const std::vector<std::string>& values) {
  return from_distinct(std::set<std::string>(values.begin(), values.end()));
}

LabelSet LabelSet::build(const std::vector<std::vector<std::string>>& values) {
  std::set<std::string> distinct;
  for (const auto& row : values) distinct.insert(row.begin(), row.end());
  return from_distinct(distinct);
}

const std::string& LabelSet::name(int32_t id) const {
  if (id < 0 || id >= size()) {
    throw std::out_of_range("label id " + std::to_string(id) + " outside [0, " + std::to_string(size()) + ")");
  }
  return names_[id];
}

int32_t LabelSet::find(std::string_view name) const {
  auto it = ids_.find(std::string(name));
  return it == ids_.end() ? -1 : it->second;
}

int32_t LabelSet::id(std::string_view name, std::string_view what) const {
  const int32_t found = find(name);
  if (found >= 0) return found;
  std::string known;
  for (std::size_t i = 0; i < names_.size() && i < 20; ++i) known += (i ? ", " : "") + names_[i];
  if (names_.size() > 20) known += ", ...";
  throw InputError(std::string(what) + " '" + std::string(name) + "' is not one of the " +
                   std::to_string(names_.size()) + " labels of the training split (" + known + ")");
}

std::vector<int32_t> LabelSet::encode(const std::vector<std::string>& values, std::string_view what) const {
  std::vector<int32_t> out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.push_back(id(values[i], std::string(what) + " " + std::to_string(i)));
  }
  return out;
}

std::string LabelSet::to_string() const {
  return json{{"format", kFormat}, {"version", kVersion}, {"names", names_}}.dump();
}

LabelSet LabelSet::from_string(std::string_view text) {
  json j = detail::parse_versioned_json(text, "label set", kFormat, kVersion);
  if (!j.contains("names") || !j["names"].is_array()) throw InputError("label set: \"names\" must be an array");
  std::vector<std::string> names;
  for (const json& n : j["names"]) {
    if (!n.is_string()) throw InputError("label set: every entry of \"names\" must be a string");
    names.push_back(n.get<std::string>());
  }
  return LabelSet(std::move(names));
}

}  // namespace datamux::data
