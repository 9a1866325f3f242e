// The image description saved with an image model's checkpoint (see image_input.hpp).
#include <datamux/data/image_input.hpp>

#include <datamux/error.hpp>

#include <cmath>

#include "versioned_json.hpp"

namespace datamux::data {
namespace {

using json = nlohmann::json;
constexpr const char* kFormat = "datamux-image";
constexpr int kVersion = 1;

}  // namespace

std::string ImageInput::to_string() const {
  // A float widened to double is printed with 17 digits by nlohmann::json: it reads back exactly.
  return json{{"format", kFormat}, {"version", kVersion}, {"rows", rows},     {"cols", cols},
              {"channels", channels}, {"mean", static_cast<double>(mean)}, {"stddev", static_cast<double>(stddev)},
              {"labels", labels}}
      .dump();
}

ImageInput ImageInput::from_string(std::string_view text) {
  const json j = detail::parse_versioned_json(text, "image input", kFormat, kVersion);
  ImageInput in;
  for (const char* key : {"rows", "cols", "channels"}) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1 || j[key].get<int64_t>() > 65536)
      throw InputError(std::string("image input: \"") + key + "\" must be an integer from 1 to 65536");
  }
  in.rows = j["rows"].get<int64_t>();
  in.cols = j["cols"].get<int64_t>();
  in.channels = j["channels"].get<int64_t>();
  for (const char* key : {"mean", "stddev"})
    if (!j.contains(key) || !j[key].is_number() || !std::isfinite(j[key].get<double>()))
      throw InputError(std::string("image input: \"") + key + "\" must be a finite number");
  in.mean = static_cast<float>(j["mean"].get<double>());
  in.stddev = static_cast<float>(j["stddev"].get<double>());
  if (!(in.stddev > 0.f)) throw InputError("image input: \"stddev\" must be > 0");
  if (!j.contains("labels") || !j["labels"].is_array() || j["labels"].empty())
    throw InputError("image input: \"labels\" must be a non-empty list of class names");
  for (const json& name : j["labels"]) {
    if (!name.is_string()) throw InputError("image input: every entry of \"labels\" must be a string");
    in.labels.push_back(name.get<std::string>());
  }
  return in;
}

const std::vector<std::string>& fashion_mnist_labels() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace datamux::data
