// datamux/serve/codec.hpp - the JSON of POST /v1/predict.
//
// Request:  {"inputs": [INPUT, ...]} or {"input": INPUT}, optionally "id": any JSON value (echoed back).
//   INPUT is a string (text), or an object with exactly one of
//     "text":   a string,
//     "tokens": a list of words (pre-split; token tasks label each),
//     "ids":    a list of token ids as the model reads them (at most [task] length).
//   For an image model, INPUT is a list of rows x cols pixel values 0..255 (row-major, 0 = background,
//   255 = ink, as in the IDX file; scaled by 1/255 and standardised as in training), or {"pixels": list}.
// Response: {"id": ..., "results": [RESULT, ...]} (or "result" for "input"), where RESULT is
//   classification: {"label": "spam", "scores": {"ham": 0.02, "spam": 0.98}, "n": 5}
//   token tasks:    {"labels": ["DET", "NOUN", ...], "scores": [0.97, 0.88, ...], "n": 5}
//   ("scores" of a token task: the probability of each chosen label). "n" is the N that served it.
// Errors: {"error": "message", "field": "inputs[2].ids[5]"} with a 4xx/5xx status.
#pragma once

#include <datamux/serve/bundle.hpp>
#include <datamux/serve/request_queue.hpp>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace datamux::serve {

/// A request the server refuses: the HTTP status, a message, and the JSON field at fault (may be empty).
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, std::string field, const std::string& message)
      : std::runtime_error(message), status_(status), field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string field_;
};

struct PredictRequest {
  nlohmann::json id;         // null when absent
  bool single = false;       // "input" rather than "inputs"
  std::vector<EncodedInput> inputs;
};

/// Parses and encodes a body. Throws RequestError(400, field, message) for malformed JSON, a missing or
/// mistyped field, an empty or too long list, an id out of range, or an image with the wrong number of
/// pixels or a pixel value outside 0..255.
PredictRequest parse_predict(std::string_view body, const Bundle& bundle, std::size_t max_inputs);

/// The 200 body for a served request.
std::string format_predict(const PredictRequest& request, const std::vector<InputResult>& results, const Bundle& bundle);

/// {"error": message, "field": field} (field left out when empty).
std::string error_body(const std::string& message, const std::string& field = {});

}  // namespace datamux::serve
