// Reading a sweep file into axes, excludes and fixed overrides, with a location for every value.
#include <datamux/error.hpp>
#include <datamux/options.hpp>
#include <datamux/sweep/sweep_file.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <datamux/pipeline/toml_input.hpp>

namespace datamux::runtime::sweep {
namespace fs = std::filesystem;
namespace {

std::string loc(const toml::source_region& src, const std::string& path) {
  if (src.begin.line == 0) return path;
  return fmt::format("{}:{}:{}", path, src.begin.line, src.begin.column);
}

// TOML text of a scalar, as `--set key=<text>` parses it back to the same type (a float keeps its point).
std::string toml_text(const toml::node& n) {
  if (auto s = n.as_string()) {
    std::string out = "\"";
    for (char c : s->get()) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
          else out += c;
      }
    }
    return out + "\"";
  }
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  auto d = n.as_floating_point()->get();
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string t = fmt::format("{}", d);
  if (t.find_first_of(".e") == std::string::npos) t += ".0";
  return t;
}

Value scalar(const toml::node& n, const std::string& key, const std::string& path) {
  if (!n.is_string() && !n.is_integer() && !n.is_floating_point() && !n.is_boolean())
    throw InputError(fmt::format("{}: \"{}\": a value must be a string, number or boolean", loc(n.source(), path), key));
  Value v;
  v.toml = toml_text(n);
  v.text = n.is_string() ? n.as_string()->get() : v.toml;
  v.where = loc(n.source(), path);
  return v;
}

// Keys may be written quoted ("model.instances") or dotted (model.instances, a nested table to
// TOML++): both become one flat "section.key" entry, ordered as written in the file.
void flatten(const toml::table& t, const std::string& prefix, std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (auto&& [k, v] : t) {
    std::string key = prefix + std::string(k.str());
    if (auto sub = v.as_table()) flatten(*sub, key + ".", out);
    else out.emplace_back(key, &v);
  }
}
std::vector<std::pair<std::string, const toml::node*>> flat_entries(const toml::table& t) {
  std::vector<std::pair<std::string, const toml::node*>> out;
  flatten(t, "", out);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto &x = a.second->source().begin, &y = b.second->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

void check_key(const std::string& key, const toml::node& n, const std::string& path) {
  auto dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
    throw InputError(fmt::format("{}: \"{}\": a pipeline key is section.key, e.g. \"model.instances\"", loc(n.source(), path), key));
}

std::vector<Value> value_list(const toml::node& n, const std::string& key, const std::string& path) {
  const auto* arr = n.as_array();
  if (!arr) throw InputError(fmt::format("{}: \"{}\": expected an array of values, e.g. [1, 2, 4]", loc(n.source(), path), key));
  if (arr->empty()) throw InputError(fmt::format("{}: \"{}\": empty axis (give at least one value)", loc(n.source(), path), key));
  std::vector<Value> out;
  for (auto&& e : *arr) {
    Value v = scalar(e, key, path);
    for (const auto& seen : out)
      if (seen == v) throw InputError(fmt::format("{}: \"{}\": value {} is listed twice", v.where, key, v.toml));
    if (!out.empty() && e.type() != arr->get(0)->type())
      throw InputError(fmt::format("{}: \"{}\": every value of an axis must have the same type ({} is not like {})",
                                   v.where, key, v.toml, out.front().toml));
    out.push_back(std::move(v));
  }
  return out;
}

const toml::table& as_table(const toml::node& n, const std::string& what, const std::string& path) {
  const auto* t = n.as_table();
  if (!t) throw InputError(fmt::format("{}: {} must be a table", loc(n.source(), path), what));
  return *t;
}

// Each [[zip]] / [[exclude]] entry: accepts an array of tables (or one table, for a single group).
std::vector<const toml::table*> table_list(const toml::node& n, const std::string& what, const std::string& path) {
  std::vector<const toml::table*> out;
  if (auto* arr = n.as_array()) {
    for (auto&& e : *arr) out.push_back(&as_table(e, what, path));
  } else {
    out.push_back(&as_table(n, what, path));
  }
  return out;
}

// `mux = [{plugin = "gaussian", norm = 20.0}, {plugin = "random_ortho"}]`: each table is one point
// setting its keys inside the section, so plugins with different options can share an axis.
template <class Claim>
Axis table_axis(const std::string& section, const toml::array& arr, const std::string& path, Claim&& claim) {
  Axis a{{}, {}, loc(arr.source(), path)};
  if (section.find('.') != std::string::npos)
    throw InputError(fmt::format("{}: \"{}\": a list of tables sweeps a whole section; name the section (e.g. mux)",
                                 loc(arr.source(), path), section));
  for (auto&& e : arr) {
    const auto* t = e.as_table();
    if (!t) throw InputError(fmt::format("{}: \"{}\": every value must be a table like the first", loc(e.source(), path), section));
    std::vector<std::pair<std::string, Value>> point;
    for (auto& [k, node] : flat_entries(*t)) {
      std::string key = section + "." + k;
      point.emplace_back(key, scalar(*node, key, path));
      if (std::find(a.keys.begin(), a.keys.end(), key) == a.keys.end()) {
        claim(key, loc(node->source(), path));
        a.keys.push_back(key);
      }
    }
    if (point.empty()) throw InputError(fmt::format("{}: \"{}\": empty table", loc(e.source(), path), section));
    for (const auto& other : a.points)
      if (other == point) throw InputError(fmt::format("{}: \"{}\": this table is listed twice", loc(e.source(), path), section));
    a.points.push_back(std::move(point));
  }
  return a;
}

void check_top_keys(const toml::table& root, const std::string& path) {
  static const std::vector<std::string> known = {"base", "axes", "zip", "seeds", "exclude", "set"};
  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string hint = did_you_mean(key, known);
    throw InputError(fmt::format("{}: unknown sweep key '{}'{} (a sweep has base, axes, zip, seeds, exclude, set)",
                                 loc(v.source(), path), key, hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
  }
}

void read_base(const toml::table& root, const std::string& path, SweepFile& s) {
  auto base = root["base"];
  if (!base) throw InputError(fmt::format("{}: no `base` (the pipeline to sweep over, e.g. base = \"pipeline.toml\")", path));
  s.base_where = loc(base.node()->source(), path);
  auto base_path = base.value<std::string>();
  if (!base_path || base_path->empty()) throw InputError(fmt::format("{}: `base` must be a path to a pipeline TOML file", s.base_where));
  fs::path bp(*base_path);
  s.base = (bp.is_absolute() ? bp : fs::path(path).parent_path() / bp).lexically_normal().string();
  if (!fs::is_regular_file(s.base))
    throw InputError(fmt::format("{}: base pipeline {} does not exist", s.base_where, s.base));
}

// The keys swept so far; claiming one twice is an error.
struct SweptKeys {
  std::set<std::string> keys;

  void operator()(const std::string& key, const std::string& where) {
    if (!keys.insert(key).second) throw InputError(fmt::format("{}: \"{}\" is swept twice", where, key));
  }
};

void read_axes(const toml::node& axes, const std::string& path, SweptKeys& claim, std::vector<Axis>& out) {
  for (auto& [key, node] : flat_entries(as_table(axes, "[axes]", path))) {
    Axis a{{}, {}, loc(node->source(), path)};
    const auto* arr = node->as_array();
    if (arr && !arr->empty() && arr->get(0)->is_table()) {
      out.push_back(table_axis(key, *arr, path, claim));
      continue;
    }
    check_key(key, *node, path);
    claim(key, loc(node->source(), path));
    a.keys = {key};
    for (auto& v : value_list(*node, key, path)) a.points.push_back({{key, v}});
    out.push_back(std::move(a));
  }
}

Axis zip_axis(const toml::table& t, const std::string& path, SweptKeys& claim) {
  Axis a{{}, {}, loc(t.source(), path)};
  std::vector<std::vector<Value>> columns;
  for (auto& [key, node] : flat_entries(t)) {
    check_key(key, *node, path);
    claim(key, loc(node->source(), path));
    columns.push_back(value_list(*node, key, path));
    if (columns.size() > 1 && columns.back().size() != columns.front().size())
      throw InputError(fmt::format("{}: [[zip]] \"{}\" has {} values but \"{}\" has {}: zipped keys need as many values each",
                                   loc(node->source(), path), key, columns.back().size(), a.keys.front(), columns.front().size()));
    a.keys.push_back(key);
  }
  if (a.keys.empty()) throw InputError(fmt::format("{}: empty [[zip]] group", a.where));
  for (std::size_t p = 0; p < columns.front().size(); ++p) {
    std::vector<std::pair<std::string, Value>> point;
    for (std::size_t k = 0; k < columns.size(); ++k) point.emplace_back(a.keys[k], columns[k][p]);
    a.points.push_back(std::move(point));
  }
  return a;
}

// [axes] and [[zip]] groups in file order, so run names read as the file does.
void sort_in_file_order(std::vector<Axis>& axes) {
  std::stable_sort(axes.begin(), axes.end(), [](const Axis& x, const Axis& y) {
    auto pos = [](const std::string& w) {
      auto c2 = w.rfind(':'), c1 = w.rfind(':', c2 - 1);
      return std::pair(std::stoi(w.substr(c1 + 1, c2 - c1 - 1)), std::stoi(w.substr(c2 + 1)));
    };
    return pos(x.points.front().front().second.where) < pos(y.points.front().front().second.where);
  });
}

Axis seed_axis(const toml::node& n, const std::string& path, SweptKeys& claim) {
  claim(kSeedKey, loc(n.source(), path));
  Axis a{{kSeedKey}, {}, loc(n.source(), path)};
  for (auto& v : value_list(n, "seeds", path)) {
    if (v.toml.find_first_not_of("0123456789") != std::string::npos)
      throw InputError(fmt::format("{}: seeds must be non-negative integers, not {}", v.where, v.toml));
    a.points.push_back({{kSeedKey, v}});
  }
  return a;
}

void read_set(const toml::node& set, const std::string& path, const std::set<std::string>& swept, SweepFile& s) {
  for (auto& [key, node] : flat_entries(as_table(set, "[set]", path))) {
    check_key(key, *node, path);
    if (swept.count(key))
      throw InputError(fmt::format("{}: \"{}\" is both swept and fixed in [set]; keep one", loc(node->source(), path), key));
    s.set.emplace_back(key, scalar(*node, key, path));
  }
}

Exclude read_exclude(const toml::table& t, const std::string& path, const std::set<std::string>& swept) {
  Exclude e{{}, loc(t.source(), path)};
  for (auto& [key, node] : flat_entries(t)) {
    if (!swept.count(key))
      throw InputError(fmt::format("{}: [[exclude]] \"{}\" is not a swept key (swept: {})", loc(node->source(), path), key,
                                   fmt::join(swept, ", ")));
    std::vector<Value> values = node->is_array() ? value_list(*node, key, path) : std::vector<Value>{scalar(*node, key, path)};
    e.match.emplace_back(key, std::move(values));
  }
  if (e.match.empty()) throw InputError(fmt::format("{}: empty [[exclude]] (it would drop every run)", e.where));
  return e;
}

}  // namespace

SweepFile load_sweep_file(const std::string& path) {
  const toml::table root = detail::read_toml_file(path, "sweep file");
  check_top_keys(root, path);
  SweepFile s;
  s.path = path;
  read_base(root, path, s);

  SweptKeys swept;
  if (auto axes = root["axes"]) read_axes(*axes.node(), path, swept, s.axes);
  if (auto zip = root["zip"]) {
    for (const toml::table* t : table_list(*zip.node(), "[[zip]]", path)) s.axes.push_back(zip_axis(*t, path, swept));
    sort_in_file_order(s.axes);
  }
  if (auto seeds = root["seeds"]) s.axes.push_back(seed_axis(*seeds.node(), path, swept));
  if (auto set = root["set"]) read_set(*set.node(), path, swept.keys, s);
  if (auto ex = root["exclude"]) {
    for (const toml::table* t : table_list(*ex.node(), "[[exclude]]", path))
      s.excludes.push_back(read_exclude(*t, path, swept.keys));
  }
  return s;
}

}  // namespace datamux::runtime::sweep
