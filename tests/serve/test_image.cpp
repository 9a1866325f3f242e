// Image models in `datamux serve`: a request's pixel list (0..255, as the IDX file stores them) becomes
// exactly the standardised pixels the evaluation read, and the label served for an image is the one
// `datamux eval`'s pass gives it in the same row of the same model (MLP and CNN backbones, N = 1 and 4,
// and a bf16 model served in bf16), directly and over HTTP.
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/cpu_features.hpp>
#include <datamux/serve/inference.hpp>
#include <datamux/serve/loadgen.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../pipeline/run_test_util.hpp"
#include "image_test_util.hpp"

namespace datamux::testing {
namespace {

using nlohmann::json;

// One eval row: its N test images (raw bytes and the standardised pixels eval fed the model), eval's
// probabilities and labels per slot, and which slots hold a test image (not eval's padding).
struct ImageRow {
  std::vector<std::vector<uint8_t>> raw;
  std::vector<std::vector<float>> pixels;
  std::vector<std::vector<float>> probs;
  std::vector<int32_t> labels, truth;
  std::vector<bool> real;
};

// `datamux eval`'s path: the pipeline's task (reading the IDX files) and model, the checkpoint, the test
// split in batches of `rows` multiplexed rows, forward in eval mode without a graph.
std::vector<ImageRow> eval_image_rows(const std::string& dir, const RawImages& test, int64_t rows) {
  runtime::BuiltPipeline p = runtime::build_pipeline(runtime::load_pipeline(dir + "/pipeline.toml"));
  load_into(*p.model, dir + "/model.safetensors", true);
  p.model->eval();
  const int64_t n = p.model->context().instances;
  std::vector<ImageRow> out;
  NoGradGuard no_grad;
  int64_t start = 0;  // the test example in slot 0 of this batch (slot k = i * B + j holds start + k)
  for (const runtime::Batch& b : p.task->eval_batches(runtime::Split::Test, n, rows)) {
    const Tensor logits = p.model->forward(b).main.logits.to(DType::f32).contiguous();
    const int64_t B = b.inputs.size(1), P = b.inputs.size(2), C = logits.size(-1);
    for (int64_t j = 0; j < B; ++j) {
      ImageRow r;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = i * B + j;
        const bool real = b.targets.data<int32_t>()[k] != runtime::kIgnore;
        const int64_t t = real ? start + k : 0;  // eval pads with example 0 of the split
        r.raw.push_back(test.images[static_cast<std::size_t>(t)]);
        const float* x = b.inputs.data<float>() + k * P;
        r.pixels.emplace_back(x, x + P);
        const float* z = logits.data<float>() + k * C;
        std::vector<float> pr(z, z + C);
        const float m = *std::max_element(pr.begin(), pr.end());
        float sum = 0;
        for (float& v : pr) sum += (v = std::exp(v - m));
        for (float& v : pr) v /= sum;
        r.probs.push_back(pr);
        r.labels.push_back(static_cast<int32_t>(std::max_element(z, z + C) - z));
        r.truth.push_back(test.labels[static_cast<std::size_t>(t)]);
        r.real.push_back(real);
      }
      out.push_back(std::move(r));
    }
    start += n * B;
  }
  return out;
}

std::vector<float> as_floats(const std::vector<uint8_t>& raw) { return std::vector<float>(raw.begin(), raw.end()); }

struct ImageBundle {
  std::vector<std::string> dirs;
  ImageData data;
  serve::Bundle bundle;
};

ImageBundle& image_bundle(const std::string& backbone, const std::string& dtype = "f32") {
  static std::map<std::string, std::unique_ptr<ImageBundle>> cache;
  const std::string name = "image-" + backbone + "-" + dtype;
  auto& slot = cache[name];
  if (!slot) {
    ImageData data;
    auto dirs = trained_image_runs(name, backbone, dtype, 8, 8, &data);
    slot = std::make_unique<ImageBundle>(ImageBundle{dirs, std::move(data), serve::Bundle::load(dirs)});
  }
  return *slot;
}

// Every slot of every eval row against the served row holding the same raw images: the encoded pixels
// bit for bit, the label, and the probabilities within `tolerance`. Returns how many slots were compared.
int64_t compare_with_eval(ImageBundle& b, std::size_t model_index, int64_t rows, double tolerance) {
  const int64_t n = b.bundle.instances()[model_index];
  int64_t compared = 0;
  const std::vector<ImageRow> eval = eval_image_rows(b.dirs[model_index], b.data.test, rows);
  // Whatever matmul precision the process was left in (eval set its pipeline's), a served pass runs in
  // its model's [model] dtype, as in a fresh `datamux serve` process.
  const serve::ServedModel& served = b.bundle.model(n);
  set_matmul_precision(served.precision == MatmulPrecision::bf16 ? MatmulPrecision::f32 : MatmulPrecision::bf16);
  for (const ImageRow& r : eval) {
    std::vector<serve::EncodedInput> encoded;
    for (int64_t i = 0; i < n; ++i) {
      const auto s = static_cast<std::size_t>(i);
      if (r.real[s]) {
        encoded.push_back(b.bundle.encode_image(as_floats(r.raw[s])));
        EXPECT_EQ(std::memcmp(encoded.back().pixels.data(), r.pixels[s].data(), r.pixels[s].size() * 4), 0)
            << "the served pixels differ from what eval read";
      } else {  // eval's padding (a training image): the same pixels, so the row is eval's row
        serve::EncodedInput e;
        e.pixels = r.pixels[s];
        e.positions = 1;
        encoded.push_back(std::move(e));
      }
    }
    std::vector<const serve::EncodedInput*> row;
    for (const auto& e : encoded) row.push_back(&e);
    const auto probs = serve::run_row(b.bundle.model(n), row, false, b.bundle.labels().size());
    for (int64_t i = 0; i < n; ++i) {
      const auto s = static_cast<std::size_t>(i);
      if (!r.real[s]) continue;
      const int32_t label = static_cast<int32_t>(std::max_element(probs[s].begin(), probs[s].end()) - probs[s].begin());
      EXPECT_EQ(label, r.labels[s]) << "N=" << n << " rows=" << rows;
      for (std::size_t c = 0; c < probs[s].size(); ++c) EXPECT_NEAR(probs[s][c], r.probs[s][c], tolerance);
      ++compared;
    }
  }
  return compared;
}

TEST(ServeImage, MlpAndCnnAgreeWithEvalAtEveryN) {
  for (const std::string backbone : {"mlp", "cnn"}) {
    ImageBundle& b = image_bundle(backbone);
    ASSERT_EQ(b.bundle.instances(), (std::vector<int64_t>{1, 4}));
    for (std::size_t k = 0; k < b.dirs.size(); ++k) {
      SCOPED_TRACE(backbone);
      // One row per eval step (a bit-identical pass) and eval's own [eval] batch of 16 rows.
      EXPECT_EQ(compare_with_eval(b, k, 1, 1e-6), 200);
      EXPECT_EQ(compare_with_eval(b, k, 16, 1e-4), 200);
    }
  }
}

TEST(ServeImage, Bf16ModelIsServedInBf16AndAgreesWithEval) {
  ImageBundle& b = image_bundle("mlp", "bf16");
  const bool fast = bf16_matmul_is_fast();
  for (const auto& m : b.bundle.models()) {
    EXPECT_EQ(m->precision, MatmulPrecision::bf16);
    EXPECT_EQ(m->dtype(), fast ? "bf16" : "f32");
    EXPECT_EQ(m->bf16_unavailable(), !fast);
  }
  for (std::size_t k = 0; k < b.dirs.size(); ++k) {
    EXPECT_EQ(compare_with_eval(b, k, 1, 1e-6), 200);
    EXPECT_EQ(compare_with_eval(b, k, 16, 1e-3), 200);
  }
  {
    serve::Server server(b.bundle, test_options(fixed(4)));
    server.start();
    httplib::Client c = client_for(server);
    const auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    const std::string want = fast ? "bf16" : "f32";
    EXPECT_EQ(json::parse(r->body)["dtype"], (json{{"1", want}, {"4", want}})) << r->body;
    server.shutdown();
  }
  if (!fast) return;  // f32 on this CPU: nothing tells the two apart
  // The dtype is really applied: the same model forced to f32 scores the same images otherwise.
  serve::ServedModel& m = b.bundle.model(4);
  std::vector<serve::EncodedInput> in;
  for (int t = 0; t < 4; ++t) in.push_back(b.bundle.encode_image(as_floats(b.data.test.images[static_cast<std::size_t>(t)])));
  const std::vector<const serve::EncodedInput*> row = {&in[0], &in[1], &in[2], &in[3]};
  const auto bf16 = serve::run_row(m, row, false, 10);
  m.precision = MatmulPrecision::f32;
  const auto f32 = serve::run_row(m, row, false, 10);
  m.precision = MatmulPrecision::bf16;
  double most = 0;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t c = 0; c < 10; ++c) most = std::max(most, std::abs(double(bf16[i][c]) - f32[i][c]));
  EXPECT_GT(most, 1e-5);
}

TEST(ServeImage, OverHttpFixedNLabelsAreEvals) {
  // Each request carries one eval row's 4 images as pixel lists; sent one at a time, a fixed-N server
  // makes exactly that row.
  ImageBundle& b = image_bundle("cnn");
  serve::Server server(b.bundle, test_options(fixed(4)));
  server.start();
  httplib::Client c = client_for(server);
  int64_t compared = 0, same = 0, right = 0;
  std::set<std::string> seen;
  for (const ImageRow& r : eval_image_rows(b.dirs[1], b.data.test, 1)) {
    ASSERT_EQ(std::find(r.real.begin(), r.real.end(), false), r.real.end());  // 200 images, rows of 4
    json inputs = json::array();
    for (std::size_t i = 0; i < 4; ++i)
      inputs.push_back(i % 2 ? json{{"pixels", r.raw[i]}} : json(r.raw[i]));  // both forms
    const auto res = c.Post("/v1/predict", json{{"inputs", inputs}}.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json j = json::parse(res->body);
    ASSERT_EQ(j["results"].size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      const json& out = j["results"][i];
      EXPECT_EQ(out["n"], 4);
      EXPECT_EQ(out["scores"].size(), 10u);
      const std::string label = out["label"];
      same += label == b.bundle.labels().name(r.labels[i]);
      right += label == b.bundle.labels().name(r.truth[i]);
      seen.insert(label);
      ++compared;
    }
  }
  server.shutdown();
  EXPECT_EQ(compared, 200);
  EXPECT_EQ(same, compared);
  EXPECT_GT(right, compared * 3 / 10) << "the tiny model should have learnt the blocks (chance: 1 in 10)";
  EXPECT_GE(seen.size(), 5u);
}

TEST(ServeImage, LabelsAndShapeComeFromTheCheckpoint) {
  ImageBundle& b = image_bundle("mlp");
  EXPECT_TRUE(b.bundle.image());
  EXPECT_EQ(b.bundle.task_kind(), "image_classification");
  EXPECT_EQ(b.bundle.image_input().rows, 8);
  EXPECT_EQ(b.bundle.image_input().cols, 8);
  EXPECT_EQ(b.bundle.image_input().channels, 1);
  EXPECT_EQ(b.bundle.length(), 64);
  EXPECT_EQ(b.bundle.labels().names(), data::fashion_mnist_labels());
  // Out of range is refused by the encoder too (the codec names the field; see ImageApi).
  std::vector<float> raw(64, 0.f);
  raw[5] = 255.5f;
  EXPECT_THROW(b.bundle.encode_image(raw), std::invalid_argument);
  raw.pop_back();
  EXPECT_THROW(b.bundle.encode_image(raw), std::invalid_argument);
}

TEST(ServeImage, DescriptionReadsBackBitForBit) {
  data::ImageInput in;
  in.rows = 28;
  in.cols = 20;
  in.channels = 1;
  in.mean = 0.28604063f;
  in.stddev = std::nextafter(0.35302424f, 1.f);
  in.labels = {"a", "b"};
  const data::ImageInput back = data::ImageInput::from_string(in.to_string());
  EXPECT_EQ(back.rows, 28);
  EXPECT_EQ(back.cols, 20);
  EXPECT_EQ(back.values(), 560);
  EXPECT_EQ(std::memcmp(&back.mean, &in.mean, 4), 0);
  EXPECT_EQ(std::memcmp(&back.stddev, &in.stddev, 4), 0);
  EXPECT_EQ(back.labels, in.labels);
  auto refused = [](const std::string& text, const std::string& words) {
    try {
      data::ImageInput::from_string(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  json j = json::parse(in.to_string());
  refused("{", "not valid JSON");
  refused(json{{"format", "datamux-labels"}, {"version", 1}}.dump(), "\"format\": \"datamux-image\"");
  json bad = j;
  bad.erase("rows");
  refused(bad.dump(), "\"rows\" must be an integer");
  bad = j;
  bad["stddev"] = 0.0;
  refused(bad.dump(), "\"stddev\" must be > 0");
  bad = j;
  bad["labels"] = json::array();
  refused(bad.dump(), "\"labels\" must be a non-empty list");
}

// ---------------------------------------------------------------- the HTTP contract for images

class ImageApi : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<serve::Server>(image_bundle("mlp").bundle, test_options(fixed(1)));
    server_->start();
  }
  void TearDown() override { server_->shutdown(); }
  httplib::Result post(const json& body) {
    httplib::Client c = client_for(*server_);
    return c.Post("/v1/predict", body.dump(), "application/json");
  }
  void expect_400(const json& body, const std::string& field, const std::string& words) {
    const auto r = post(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j.value("field", ""), field) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << r->body;
  }
  std::unique_ptr<serve::Server> server_;
};

json blank(std::size_t count = 64) { return json(std::vector<int>(count, 0)); }
json list(std::vector<json> items) { return json(std::move(items)); }  // a JSON list, whatever its length
json pixels(json values) {
  json o = json::object();
  o["pixels"] = std::move(values);
  return o;
}
json body(const std::string& key, json value) {
  json o = json::object();
  o[key] = std::move(value);
  return o;
}

TEST_F(ImageApi, OneImageOrAList) {
  const auto& img = image_bundle("mlp").data.test.images;
  json one = body("input", json(img[0]));
  one["id"] = "a";
  auto r = post(one);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["id"], "a");
  const auto& names = data::fashion_mnist_labels();
  EXPECT_NE(std::find(names.begin(), names.end(), j["result"]["label"].get<std::string>()), names.end());
  EXPECT_EQ(j["result"]["n"], 1);
  EXPECT_EQ(j["result"]["scores"].size(), 10u);
  double sum = 0;
  for (const auto& [_, p] : j["result"]["scores"].items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  // Floats in 0..255 are pixel values too: 17.0 is the byte 17.
  json floats = json::array();
  for (uint8_t p : img[0]) floats.push_back(static_cast<double>(p));
  r = post(body("inputs", list({floats, pixels(json(img[1]))})));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["scores"], json::parse(post(body("input", json(img[0])))->body)["result"]["scores"]);
  EXPECT_EQ(j["results"][1]["scores"], json::parse(post(body("input", json(img[1])))->body)["result"]["scores"]);
}

TEST_F(ImageApi, BadPixelsAre400NamingTheField) {
  expect_400(body("inputs", list({blank(63)})), "inputs[0]", "has 63 pixel values, the models read 8 x 8 = 64");
  expect_400(body("inputs", list({blank(), blank(65)})), "inputs[1]", "has 65 pixel values");
  expect_400(body("input", pixels(blank(10))), "input.pixels", "8 x 8 = 64");
  expect_400(body("inputs", list({json::array()})), "inputs[0]", "is empty");
  json word = blank();
  word[3] = "white";
  expect_400(body("inputs", list({word})), "inputs[0][3]", "must be a number");
  json yes = blank();
  yes[4] = true;
  expect_400(body("inputs", list({yes})), "inputs[0][4]", "must be a number");
  json high = blank();
  high[5] = 256;
  expect_400(body("inputs", list({high})), "inputs[0][5]", "= 256 is outside 0..255");
  json low = blank();
  low[63] = -1;
  expect_400(body("input", pixels(low)), "input.pixels[63]", "= -1 is outside 0..255");
  json unit = blank();
  unit[0] = 255.5;
  expect_400(body("inputs", list({unit})), "inputs[0][0]", "outside 0..255");
  expect_400(body("inputs", list({json("a text")})), "inputs[0]", "must be a list of 8 x 8 = 64 pixel values");
  expect_400(body("inputs", list({body("ids", list({1, 2}))})), "inputs[0].ids", "unknown field");
  expect_400(body("inputs", list({json::object()})), "inputs[0]", "must have \"pixels\"");
  // One image given as the list itself: each entry is then an input, and a number is not an image.
  expect_400(body("inputs", blank()), "inputs[0]", "must be a list of 8 x 8 = 64 pixel values");
}

TEST_F(ImageApi, HealthSaysImageAndDtype) {
  httplib::Client c = client_for(*server_);
  const auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["task"], "image_classification");
  EXPECT_EQ(j["image"], (json{{"rows", 8}, {"cols", 8}, {"channels", 1}}));
  EXPECT_EQ(j["dtype"], (json{{"1", "f32"}, {"4", "f32"}}));
}

TEST(ServeImage, LoadgenSendsPixelListsWithJsonInputs) {
  ImageBundle& b = image_bundle("mlp");
  serve::Policy p;
  p.kind = serve::Policy::Kind::Latency;
  p.target_s = 0.05;
  serve::Server server(b.bundle, test_options(p));
  server.start();
  serve::LoadgenOptions o;
  o.url = fmt::format("http://127.0.0.1:{}", server.port());
  o.rate = 200;
  o.duration_s = 0.5;
  o.max_requests = 100;
  o.connections = 8;
  for (int t = 0; t < 20; ++t) o.texts.push_back(json(b.data.test.images[static_cast<std::size_t>(t)]).dump());
  o.json_inputs = true;
  const serve::LoadgenReport rep = serve::run_loadgen(o);
  server.shutdown();
  EXPECT_GT(rep.sent, 50);
  EXPECT_EQ(rep.ok, rep.sent) << rep.to_json().dump();
  EXPECT_TRUE(rep.errors.empty()) << rep.to_json().dump();
  EXPECT_EQ(rep.mismatched, 0);
  // Without --json-inputs the same lines are texts, which an image model refuses (400).
  o.json_inputs = false;
  o.max_requests = 3;
  serve::Server again(b.bundle, test_options(p));
  again.start();
  o.url = fmt::format("http://127.0.0.1:{}", again.port());
  const serve::LoadgenReport texts = serve::run_loadgen(o);
  again.shutdown();
  EXPECT_EQ(texts.ok, 0);
  EXPECT_EQ(texts.errors.at("400"), texts.sent);
  o.json_inputs = true;
  o.texts = {"[1, 2", "[3]"};
  try {
    serve::run_loadgen(o);
    ADD_FAILURE() << "a line that is not JSON was sent";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--inputs line 1: not a JSON value"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- bundles of image models

void expect_input_error(const std::vector<std::string>& sources, const std::vector<std::string>& words) {
  try {
    serve::Bundle::load(sources);
    ADD_FAILURE() << "no error; expected: " << words.front();
  } catch (const InputError& e) {
    for (const auto& w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
  }
}

// A copy of run folder `dir` whose checkpoint has its image description replaced (or removed when empty).
std::string with_image_description(const std::string& dir, const std::string& name, const std::string& description) {
  const fs::path out = scratch_dir(name);
  fs::copy_file(fs::path(dir) / "pipeline.toml", out / "pipeline.toml");
  const SafetensorsFile f = load_safetensors(dir + "/model.safetensors");
  NamedTensors tensors(f.tensors.begin(), f.tensors.end());
  Metadata meta;
  for (const auto& [k, v] : f.metadata)
    if (k != "datamux.image") meta.emplace_back(k, v);
  if (!description.empty()) meta.emplace_back("datamux.image", description);
  save_safetensors((out / "model.safetensors").string(), tensors, meta);
  return out.string();
}

TEST(ServeImageBundle, ModelsMustAgreeOnKindShapeAndPixels) {
  const auto& eight = image_bundle("mlp").dirs;
  const auto other_shape = trained_image_runs("image-mlp-8x6", "mlp", "f32", 8, 6);
  expect_input_error({eight[0], other_shape[1]},
                     {"reads images of 8 x 6 pixels and 1 channel(s)", "reads 8 x 8 and 1", other_shape[1], eight[0]});
  expect_input_error({eight[0], trained_runs("sentiment")[1]}, {"is a text_classification model", "image_classification"});
  // Trained on other images: another standardisation.
  data::ImageInput shifted = image_bundle("mlp").bundle.image_input();
  shifted.mean += 0.01f;
  const std::string moved = with_image_description(eight[1], "serve-image-shifted", shifted.to_string());
  expect_input_error({eight[0], moved}, {"standardises pixels with mean", "trained on different images"});
}

TEST(ServeImageBundle, OlderCheckpointsGetTheDescriptionFromTheDataSet) {
  ImageBundle& b = image_bundle("mlp");
  const std::string old = with_image_description(b.dirs[1], "serve-image-old", "");
  const serve::Bundle loaded = serve::Bundle::load({old});
  const data::ImageInput& want = b.bundle.image_input();
  const data::ImageInput& got = loaded.image_input();
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.cols, want.cols);
  EXPECT_EQ(std::memcmp(&got.mean, &want.mean, 4), 0);
  EXPECT_EQ(std::memcmp(&got.stddev, &want.stddev, 4), 0);
  EXPECT_EQ(got.labels, want.labels);
}

TEST(ServeImageBundle, CliExitsTwoOnAShapeMismatch) {
  const auto eight = image_bundle("mlp").dirs;
  const auto other_shape = trained_image_runs("image-mlp-8x6", "mlp", "f32", 8, 6);
  const CliResult r = run_cli("serve --port 0 --model " + eight[0] + " --model " + other_shape[1]);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("reads images of 8 x 6 pixels"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace datamux::testing
