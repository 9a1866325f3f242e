// Parsing predict requests and writing their answers.
#include <datamux/serve/codec.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace datamux::serve {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& message) { throw RequestError(400, field, message); }

// "rows x cols = values" (x channels when there are several): what an image request must hold.
std::string image_size(const Bundle& bundle) {
  const data::ImageInput& in = bundle.image_input();
  if (in.channels == 1) return fmt::format("{} x {} = {}", in.rows, in.cols, in.values());
  return fmt::format("{} channels x {} x {} = {}", in.channels, in.rows, in.cols, in.values());
}

// An image: a list of pixel values (or {"pixels": list}), 0..255 as the IDX file stores them.
EncodedInput parse_image(const json& v, const std::string& field, const Bundle& bundle) {
  const std::string what = fmt::format("a list of {} pixel values (rows x cols, row-major, 0..255)", image_size(bundle));
  const json* list = &v;
  std::string at = field;
  if (v.is_object()) {
    for (const auto& [key, _] : v.items())
      if (key != "pixels")
        bad(field + "." + key, fmt::format("{}.{}: unknown field (an image is {}, or {{\"pixels\": [...]}})", field, key, what));
    if (!v.contains("pixels")) bad(field, fmt::format("{} must have \"pixels\": {}", field, what));
    list = &v["pixels"];
    at = field + ".pixels";
  }
  if (!list->is_array())
    bad(at, fmt::format("{} must be {}: the models read images", at, what));
  if (list->empty()) bad(at, fmt::format("{} is empty: an image is {}", at, what));
  if (static_cast<int64_t>(list->size()) != bundle.length())
    bad(at, fmt::format("{} has {} pixel values, the models read {}", at, list->size(), image_size(bundle)));
  std::vector<float> raw(list->size());
  for (std::size_t k = 0; k < list->size(); ++k) {
    const json& p = (*list)[k];
    if (!p.is_number())
      bad(fmt::format("{}[{}]", at, k), fmt::format("{}[{}] must be a number (a pixel value 0..255)", at, k));
    const double d = p.get<double>();
    if (!(d >= 0.0 && d <= 255.0))
      bad(fmt::format("{}[{}]", at, k),
          fmt::format("{}[{}] = {} is outside 0..255 (pixel values as the IDX file stores them: 0 = background, "
                      "255 = ink)",
                      at, k, p.dump()));
    raw[k] = static_cast<float>(d);
  }
  return bundle.encode_image(raw);
}

EncodedInput parse_input(const json& v, const std::string& field, const Bundle& bundle) {
  if (bundle.image()) return parse_image(v, field, bundle);
  if (v.is_string()) return bundle.encode_text(v.get<std::string>());
  if (!v.is_object()) bad(field, fmt::format("{} must be a string or an object with \"text\", \"tokens\" or \"ids\"", field));
  int given = 0;
  for (const char* k : {"text", "tokens", "ids"}) given += v.contains(k);
  if (given != 1)
    bad(field, fmt::format("{} must have exactly one of \"text\", \"tokens\" or \"ids\" ({} given)", field, given));
  for (const auto& [key, _] : v.items())
    if (key != "text" && key != "tokens" && key != "ids")
      bad(field + "." + key, fmt::format("{}.{}: unknown field (use \"text\", \"tokens\" or \"ids\")", field, key));
  if (v.contains("text")) {
    const json& t = v["text"];
    if (!t.is_string()) bad(field + ".text", fmt::format("{}.text must be a string", field));
    return bundle.encode_text(t.get<std::string>());
  }
  if (v.contains("tokens")) {
    const json& t = v["tokens"];
    if (!t.is_array()) bad(field + ".tokens", fmt::format("{}.tokens must be a list of words", field));
    std::vector<std::string> words;
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (!t[k].is_string()) bad(fmt::format("{}.tokens[{}]", field, k), fmt::format("{}.tokens[{}] must be a string", field, k));
      words.push_back(t[k].get<std::string>());
    }
    return bundle.encode_words(words);
  }
  const json& t = v["ids"];
  if (!t.is_array()) bad(field + ".ids", fmt::format("{}.ids must be a list of token ids", field));
  std::vector<int64_t> ids;
  for (std::size_t k = 0; k < t.size(); ++k) {
    if (!t[k].is_number_integer())
      bad(fmt::format("{}.ids[{}]", field, k), fmt::format("{}.ids[{}] must be an integer token id", field, k));
    ids.push_back(t[k].get<int64_t>());
  }
  try {
    return bundle.encode_ids(ids);
  } catch (const std::invalid_argument& e) {
    bad(field + ".ids", fmt::format("{}.ids{}", field, e.what()[0] == '[' ? e.what() : std::string(" ") + e.what()));
  }
}

json result_json(const InputResult& r, const EncodedInput& in, const Bundle& bundle) {
  const auto& names = bundle.labels().names();
  const std::size_t c = names.size();
  if (!bundle.token_level()) {
    json scores = json::object();
    for (std::size_t k = 0; k < c; ++k) scores[names[k]] = r.probs[k];
    const std::size_t best = static_cast<std::size_t>(std::max_element(r.probs.begin(), r.probs.end()) - r.probs.begin());
    return {{"label", names[best]}, {"scores", scores}, {"n", r.instances}};
  }
  json labels = json::array(), scores = json::array();
  for (int64_t p = 0; p < in.positions; ++p) {
    const float* z = r.probs.data() + static_cast<std::size_t>(p) * c;
    const std::size_t best = static_cast<std::size_t>(std::max_element(z, z + c) - z);
    labels.push_back(names[best]);
    scores.push_back(z[best]);
  }
  return {{"labels", labels}, {"scores", scores}, {"n", r.instances}};
}

}  // namespace

PredictRequest parse_predict(std::string_view body, const Bundle& bundle, std::size_t max_inputs) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    bad("", fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) bad("", "the body must be a JSON object: {\"inputs\": [...]} or {\"input\": ...}");
  for (const auto& [key, _] : j.items())
    if (key != "inputs" && key != "input" && key != "id")
      bad(key, fmt::format("{}: unknown field (a request has \"inputs\" or \"input\", and optionally \"id\")", key));
  PredictRequest r;
  if (j.contains("id")) r.id = j["id"];
  if (j.contains("inputs") == j.contains("input"))
    bad("inputs", "give either \"inputs\" (a list) or \"input\" (one input)");
  if (j.contains("input")) {
    r.single = true;
    r.inputs.push_back(parse_input(j["input"], "input", bundle));
    return r;
  }
  const json& list = j["inputs"];
  if (!list.is_array()) bad("inputs", "inputs must be a list");
  if (list.empty()) bad("inputs", "inputs is empty");
  if (list.size() > max_inputs)
    bad("inputs", fmt::format("inputs has {} entries, at most {} per request", list.size(), max_inputs));
  for (std::size_t k = 0; k < list.size(); ++k) r.inputs.push_back(parse_input(list[k], fmt::format("inputs[{}]", k), bundle));
  return r;
}

std::string format_predict(const PredictRequest& request, const std::vector<InputResult>& results, const Bundle& bundle) {
  json out = json::object();
  if (!request.id.is_null()) out["id"] = request.id;
  if (request.single) {
    out["result"] = result_json(results.at(0), request.inputs.at(0), bundle);
  } else {
    json list = json::array();
    for (std::size_t k = 0; k < results.size(); ++k) list.push_back(result_json(results[k], request.inputs[k], bundle));
    out["results"] = std::move(list);
  }
  return out.dump();
}

std::string error_body(const std::string& message, const std::string& field) {
  json j = {{"error", message}};
  if (!field.empty()) j["field"] = field;
  return j.dump();
}

}  // namespace datamux::serve
