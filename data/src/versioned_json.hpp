// Private to the readers: the envelope of the JSON documents saved with a checkpoint (tokenizer, label
// set), so that each reader checks format and version the same way and with the same messages.
#pragma once

#include <datamux/error.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace datamux::data::detail {

/// Parses `text` and checks that it is an object with "format": `format` and a "version" in
/// [`version`, `max_version`] (a reader that still loads older documents passes the range).
/// Throws InputError prefixed by `what` ("tokenizer: not valid JSON: ...").
inline nlohmann::json parse_versioned_json(std::string_view text, const std::string& what, const char* format,
                                           int version, int max_version = 0) {
  if (max_version < version) max_version = version;
  using json = nlohmann::json;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw InputError(what + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != format)
    throw InputError(what + ": expected a JSON object with \"format\": \"" + format + "\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() < version ||
      j["version"].get<int>() > max_version)
    throw InputError(what + ": unsupported version (this build reads version " +
                     (max_version == version ? std::to_string(version)
                                             : std::to_string(version) + " to " + std::to_string(max_version)) +
                     ")");
  return j;
}

}  // namespace datamux::data::detail
