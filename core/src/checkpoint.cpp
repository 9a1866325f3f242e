// safetensors reading (fully validated) and atomic writing; loading a checkpoint into a Module.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <datamux/core/atomic_file.hpp>
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/regular_file.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/options.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace datamux {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kMetadataKey = "__metadata__";
// The reference implementation refuses headers above 100 MB; a larger length is a corrupt file.
constexpr uint64_t kMaxHeader = 100'000'000;

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::i32:
      return "I32";
    case DType::bf16:
      return "BF16";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  if (s == "F32")
    out = DType::f32;
  else if (s == "I32")
    out = DType::i32;
  else if (s == "BF16")
    out = DType::bf16;
  else
    return false;
  return true;
}

uint64_t read_le64(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

void write_le64(unsigned char* b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
}

// The file format is little-endian; on a big-endian host, elements are swapped in place.
void to_from_little_endian(void* data, std::size_t count, std::size_t elem) {
  if constexpr (std::endian::native == std::endian::little) return;
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < count; ++i) std::reverse(p + i * elem, p + (i + 1) * elem);
}

std::string key_list(const std::vector<std::string>& keys) {
  constexpr std::size_t kShown = 10;
  std::string s;
  for (std::size_t i = 0; i < keys.size() && i < kShown; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > kShown) s += fmt::format(" and {} more", keys.size() - kShown);
  return s;
}

// A header value or name as shown in a message: a corrupt header can hold megabytes in one value, and
// a message should stay one readable line.
std::string shown(std::string text) {
  constexpr std::size_t kMax = 120;
  if (text.size() > kMax) {
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
    text = text.substr(0, cut) + fmt::format("... ({} bytes)", text.size());
  }
  return text;
}
std::string shown(const json& j) { return shown(j.dump()); }

// One tensor's entry in the header, validated on its own.
struct Entry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("checkpoint '{}': {}", path_, what));
  }

  SafetensorsFile read() {
    open();
    unsigned char len_bytes[8];
    if (file_size_ < 8)
      fail(
          fmt::format("the file is {} bytes, too short for the 8-byte header length: it is truncated or not a "
                      "safetensors file",
                      file_size_));
    read_at(0, len_bytes, 8, "the header length");
    const uint64_t n = read_le64(len_bytes);
    if (n > file_size_ - 8)
      fail(
          fmt::format("the header length says {} bytes but only {} follow it: the file is truncated or not a "
                      "safetensors file",
                      n, file_size_ - 8));
    if (n > kMaxHeader)
      fail(fmt::format("the header length {} exceeds the {}-byte limit: not a safetensors file", n, kMaxHeader));
    if (n < 2) fail(fmt::format("the header length is {} bytes, too short for a JSON object", n));
    std::string header(n, '\0');
    read_at(8, header.data(), n, "the header");
    data_start_ = 8 + n;
    data_size_ = file_size_ - data_start_;

    SafetensorsFile out;
    std::vector<Entry> entries = parse_header(header, out.metadata);
    check_tiling(entries);
    for (const Entry& e : entries) {
      Tensor t = Tensor::empty(e.shape, e.dtype);
      const std::size_t bytes = static_cast<std::size_t>(e.end - e.begin);
      if (bytes > 0) {
        void* dst = t.impl()->storage->data;
        read_at(data_start_ + e.begin, dst, bytes, fmt::format("the data of tensor '{}'", e.name));
        to_from_little_endian(dst, static_cast<std::size_t>(t.numel()), dtype_size(e.dtype));
      }
      out.tensors.emplace(e.name, std::move(t));
    }
    return out;
  }

 private:
  // A FIFO, device or folder is refused by name before anything is read (ReadOnlyFile never blocks).
  void open() {
    file_ = std::make_unique<ReadOnlyFile>(path_, "checkpoint");  // messages read "checkpoint '<path>': ..."
    file_size_ = file_->size();
  }

  void read_at(uint64_t offset, void* dst, uint64_t bytes, const std::string& what) {
    if (!file_->read_at(offset, dst, bytes))
      fail(fmt::format("cannot read {} ({} bytes at offset {}): the file is truncated or was changed while reading",
                       what, bytes, offset));
  }

  std::vector<Entry> parse_header(const std::string& text, std::map<std::string, std::string>& metadata) const {
    if (text[0] != '{') fail("the header does not start with '{': not a safetensors file");
    std::set<std::string> top_keys;
    std::string duplicate;
    json h;
    try {
      h = json::parse(text, [&](int depth, json::parse_event_t ev, json& parsed) {
        if (depth == 1 && ev == json::parse_event_t::key && !top_keys.insert(parsed.get<std::string>()).second &&
            duplicate.empty())
          duplicate = parsed.get<std::string>();
        return true;
      });
    } catch (const json::exception& e) {
      fail(fmt::format("the header is not valid JSON: {}", shown(std::string(e.what()))));
    }
    if (!h.is_object()) fail(fmt::format("the header is JSON {}, not an object", h.type_name()));
    if (!duplicate.empty()) fail(fmt::format("the header names '{}' twice", shown(duplicate)));

    std::vector<Entry> entries;
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (it.key() == kMetadataKey) {
        if (!it->is_object())
          fail(fmt::format("\"{}\" is JSON {}, not an object of strings", kMetadataKey, it->type_name()));
        for (auto m = it->begin(); m != it->end(); ++m) {
          if (!m->is_string())
            fail(fmt::format("metadata \"{}\" is JSON {}; safetensors metadata values must be strings", shown(m.key()),
                             m->type_name()));
          metadata.emplace(m.key(), m->get<std::string>());
        }
        continue;
      }
      entries.push_back(parse_entry(it.key(), *it));
    }
    return entries;
  }

  Entry parse_entry(const std::string& name, const json& j) const {
    Entry e;
    e.name = name;
    const auto bad = [&](const std::string& what) { fail(fmt::format("tensor '{}': {}", shown(name), what)); };
    if (!j.is_object()) bad(fmt::format("entry is JSON {}, not an object", j.type_name()));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!j.contains(key)) bad(fmt::format("\"{}\" is missing", key));
    const json& dt = j["dtype"];
    if (!dt.is_string()) bad(fmt::format("\"dtype\" is JSON {}, not a string", dt.type_name()));
    if (!parse_dtype(dt.get<std::string>(), e.dtype))
      bad(fmt::format("dtype \"{}\" is not supported (datamux reads F32, I32 and BF16; convert the tensor first)",
                      shown(dt.get<std::string>())));
    const json& sh = j["shape"];
    if (!sh.is_array()) bad(fmt::format("\"shape\" is JSON {}, not an array", sh.type_name()));
    uint64_t numel = 1;
    bool overflow = false;
    // A tensor with a zero in its shape has no bytes, so the offsets check below cannot bound its other
    // sizes; their product (zeros skipped) must still fit in int64 or strides overflow.
    uint64_t nonzero = 1;
    for (const json& d : sh) {
      if (!d.is_number_unsigned())
        bad(fmt::format("\"shape\" {} holds {}, not a non-negative integer", shown(sh), shown(d)));
      const uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX)) overflow = true;
      e.shape.push_back(static_cast<int64_t>(v));
      overflow = overflow || __builtin_mul_overflow(numel, v, &numel);
      if (v > 0 && (__builtin_mul_overflow(nonzero, v, &nonzero) || nonzero > static_cast<uint64_t>(INT64_MAX)))
        bad(fmt::format("\"shape\" {} has more than 2^63 elements: a corrupt header", shown(sh)));
    }
    const json& off = j["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(fmt::format("\"data_offsets\" is {}, not [begin, end] with non-negative integers", shown(off)));
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin) bad(fmt::format("data_offsets [{}, {}] end before they begin", e.begin, e.end));
    if (e.end > data_size_)
      bad(
          fmt::format("data_offsets [{}, {}] run past the end of the data ({} bytes): the file is truncated or the "
                      "header is wrong",
                      e.begin, e.end, data_size_));
    uint64_t expected = 0;
    if (overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(e.dtype)), &expected) ||
        expected != e.end - e.begin)
      bad(fmt::format("data_offsets [{}, {}] hold {} bytes but {} {} needs {}", e.begin, e.end, e.end - e.begin,
                      dt.get<std::string>(), shown(sh),
                      overflow ? std::string("more than 2^64") : std::to_string(expected)));
    return e;
  }

  // The tensors must cover the data part exactly, in some order: no overlap, no gap, no trailing bytes.
  void check_tiling(std::vector<Entry>& entries) const {
    std::vector<const Entry*> order;
    for (const Entry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t covered = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : order) {
      if (e->begin < covered)
        fail(fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", shown(prev->name), prev->begin, prev->end, shown(e->name),
                         e->begin, e->end));
      if (e->begin > covered)
        fail(fmt::format("bytes [{}, {}) of the data belong to no tensor (before '{}'): the header is wrong", covered,
                         e->begin, shown(e->name)));
      covered = e->end;
      prev = e;
    }
    if (covered != data_size_)
      fail(fmt::format("the tensors cover {} bytes but the data part is {} bytes: {}", covered, data_size_,
                       covered < data_size_ ? "trailing bytes belong to no tensor" : "the file is truncated"));
  }

  std::string path_;
  std::unique_ptr<ReadOnlyFile> file_;
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0;
  uint64_t data_size_ = 0;
};

bool floating(DType t) { return t == DType::f32 || t == DType::bf16; }

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json meta = ordered_json::object();
    for (const auto& [k, v] : metadata) {
      if (meta.contains(k))
        throw std::invalid_argument(fmt::format("save_safetensors '{}': metadata key '{}' given twice", path, k));
      meta[k] = v;
    }
    header[kMetadataKey] = std::move(meta);
  }
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty())
      throw std::invalid_argument(fmt::format("save_safetensors '{}': a tensor has an empty name", path));
    if (name == kMetadataKey)
      throw std::invalid_argument(fmt::format("save_safetensors '{}': '{}' is reserved for metadata", path, name));
    if (header.contains(name))
      throw std::invalid_argument(fmt::format("save_safetensors '{}': tensor '{}' given twice", path, name));
    if (!t.defined())
      throw std::invalid_argument(fmt::format("save_safetensors '{}': tensor '{}' is undefined", path, name));
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t.detach().contiguous());
  }
  std::string text;
  try {
    text = header.dump(-1, ' ', false, ordered_json::error_handler_t::strict);
  } catch (const ordered_json::exception& e) {
    throw std::invalid_argument(
        fmt::format("save_safetensors '{}': a name or metadata string is not valid UTF-8 ({})", path, e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data part starts 8-byte aligned
  unsigned char len[8];
  write_le64(len, text.size());

  AtomicFile file(path);
  file.write(len, 8);
  file.write(text);
  for (const Tensor& t : data) {
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    if (bytes == 0) continue;
    const auto* src = static_cast<const char*>(t.impl()->storage->data) + t.offset() * dtype_size(t.dtype());
    if constexpr (std::endian::native == std::endian::little) {
      file.write(src, bytes);
    } else {
      std::vector<char> swapped(src, src + bytes);
      to_from_little_endian(swapped.data(), static_cast<std::size_t>(t.numel()), dtype_size(t.dtype()));
      file.write(swapped.data(), bytes);
    }
  }
  file.commit();
}

SafetensorsFile load_safetensors(const std::string& path) { return Reader(path).read(); }

LoadReport load_into(Module& module, const std::string& path, bool strict) {
  SafetensorsFile file = load_safetensors(path);
  LoadReport rep;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  std::set<std::string> names;
  for (const auto& [name, dst] : module.state()) {
    names.insert(name);
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      rep.missing.push_back(name);
      continue;
    }
    const Tensor& src = it->second;
    const bool dtype_ok = src.dtype() == dst.dtype() || (floating(src.dtype()) && floating(dst.dtype()));
    if (src.shape() != dst.shape() || !dtype_ok) {
      rep.mismatched.push_back(fmt::format("{}: file {} {}, module {} {}", name, st_dtype(src.dtype()),
                                           shape_str(src.shape()), st_dtype(dst.dtype()), shape_str(dst.shape())));
      continue;
    }
    copies.emplace_back(dst, &src);
  }
  for (const auto& [name, t] : file.tensors)
    if (!names.count(name)) rep.unexpected.push_back(name);

  if (strict && !rep.clean()) {
    std::string what;
    if (!rep.missing.empty())
      what += fmt::format("; missing from the file ({}): {}", rep.missing.size(), key_list(rep.missing));
    if (!rep.unexpected.empty())
      what += fmt::format("; not in the model ({}): {}", rep.unexpected.size(), key_list(rep.unexpected));
    if (!rep.mismatched.empty())
      what += fmt::format("; different shape or dtype ({}): {}", rep.mismatched.size(), key_list(rep.mismatched));
    throw InputError(
        fmt::format("checkpoint '{}' does not match the model{} (was it written for another pipeline?)", path, what));
  }
  NoGradGuard no_grad;
  for (auto& [dst, src] : copies) {
    dst.copy_(src->to(dst.dtype()));
    ++rep.loaded;
  }
  return rep;
}

NamedTensors with_prefix(const std::string& prefix, const NamedTensors& tensors) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.emplace_back(prefix + name, t);
  return out;
}

std::map<std::string, Tensor> select_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (auto it = tensors.lower_bound(prefix); it != tensors.end() && it->first.starts_with(prefix); ++it)
    out.emplace(it->first.substr(prefix.size()), it->second);
  return out;
}

}  // namespace datamux
