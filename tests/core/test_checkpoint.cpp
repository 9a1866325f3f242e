// safetensors checkpoints: round trips, the exact byte layout of the spec, files written by another
// writer, every kind of broken file (each an InputError naming the file), loading into a Module, and
// atomic writes. Broken files are generated here, byte by byte, next to what they break.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <datamux/core/atomic_file.hpp>
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/optim.hpp>
#include <datamux/nn.hpp>
#include <datamux/options.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace datamux;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / fmt_name(info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string fmt_name(const std::string& test) {
    return "datamux_ckpt_" + std::to_string(::getpid()) + "_" + test;
  }

  fs::path dir_;
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from its parts; `length` overrides the header length field when given.
std::string file_bytes(const std::string& header, const std::string& data, int64_t length = -1) {
  return le64(length >= 0 ? static_cast<uint64_t>(length) : header.size()) + header + data;
}

std::string floats_le(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i) s += static_cast<char>((u >> (8 * i)) & 0xff);
  }
  return s;
}

// The InputError message from loading `p`, or a note saying what happened instead.
std::string load_error(const std::string& p) {
  try {
    load_safetensors(p);
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not an InputError: ") + e.what();
  }
  return "loaded without error";
}

struct Tiny : Module {
  explicit Tiny(uint64_t seed, int64_t out = 2) {
    Rng rng(seed);
    fc = register_module("fc", std::make_shared<nn::Linear>(3, out, rng));
    scale = register_parameter("scale", Tensor::randn({3}, rng));
    code = register_buffer("code", Tensor::randn({2, 2}, rng));
    ids = register_buffer("ids", Tensor::from_ints({static_cast<int32_t>(seed), 7}, {2}));
  }
  std::shared_ptr<nn::Linear> fc;
  Tensor scale, code, ids;
};

void expect_same_state(const Module& a, const Module& b) {
  auto sa = a.state(), sb = b.state();
  ASSERT_EQ(sa.size(), sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_EQ(sa[i].second.to_vector(), sb[i].second.to_vector()) << sa[i].first;
  }
}

}  // namespace

// ---------------------------------------------------------------- format

TEST_F(Checkpoint, ByteLayoutFollowsTheSpec) {
  save_safetensors(path("a.safetensors"), {{"a", Tensor::from_vector({1.f, -2.f}, {2})}});
  // 54 bytes of JSON padded with 2 spaces to 56, then 1.0f = 00 00 80 3F and -2.0f = 00 00 00 C0.
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 54u);
  const std::string expected =
      std::string("\x38\0\0\0\0\0\0\0", 8) + header + "  " + std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  EXPECT_EQ(read_bytes(path("a.safetensors")), expected);
}

TEST_F(Checkpoint, RoundTripKeepsDtypesShapesValuesAndMetadata) {
  Rng rng(3);
  Tensor f = Tensor::randn({3, 4}, rng);
  Tensor view = Tensor::arange(12).reshape({3, 4}).transpose(0, 1);  // strided: written as its logical content
  Tensor ids = Tensor::from_ints({-5, 0, 2147483647, 42}, {2, 2});
  Tensor half = Tensor::from_vector({1.5f, -0.25f, 3.f}, {3}).to(DType::bf16);
  Tensor scalar = Tensor::scalar(2.5f);
  Tensor empty = Tensor::zeros({0, 5});
  save_safetensors(path("m.safetensors"),
                   {{"layer.weight", f}, {"view", view}, {"ids", ids}, {"half", half}, {"s", scalar}, {"empty", empty}},
                   {{"datamux.step", "1000"}, {"pipeline", "[model]\ninstances = 10\n\"quoted\" ünïcode"}});
  SafetensorsFile in = load_safetensors(path("m.safetensors"));
  ASSERT_EQ(in.tensors.size(), 6u);
  EXPECT_EQ(in.tensors.at("layer.weight").shape(), (Shape{3, 4}));
  EXPECT_EQ(in.tensors.at("layer.weight").to_vector(), f.to_vector());
  EXPECT_EQ(in.tensors.at("view").shape(), (Shape{4, 3}));
  EXPECT_EQ(in.tensors.at("view").to_vector(), view.to_vector());
  EXPECT_EQ(in.tensors.at("ids").dtype(), DType::i32);
  EXPECT_EQ(in.tensors.at("ids").to_ints(), ids.to_ints());
  EXPECT_EQ(in.tensors.at("half").dtype(), DType::bf16);
  EXPECT_EQ(in.tensors.at("half").to_vector(), (std::vector<float>{1.5f, -0.25f, 3.f}));
  EXPECT_EQ(in.tensors.at("s").shape(), Shape{});
  EXPECT_FLOAT_EQ(in.tensors.at("s").item(), 2.5f);
  EXPECT_EQ(in.tensors.at("empty").shape(), (Shape{0, 5}));
  ASSERT_EQ(in.metadata.size(), 2u);
  EXPECT_EQ(in.metadata.at("datamux.step"), "1000");
  EXPECT_EQ(in.metadata.at("pipeline"), "[model]\ninstances = 10\n\"quoted\" ünïcode");
  // The data part starts 8-byte aligned, as the reference writer leaves it.
  const std::string bytes = read_bytes(path("m.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST_F(Checkpoint, ReadsAFileFromAnotherWriter) {
  // As Python's safetensors writes it: metadata first, data sorted differently from the header keys,
  // spaces inside the JSON and trailing padding.
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "b": {"dtype": "I32", "shape": [2], "data_offsets": [4, 12]},)"
      R"( "a": {"shape": [], "data_offsets": [0, 4], "dtype": "F32"}}       )";
  std::string data = floats_le({0.75f});
  data += std::string("\x03\x00\x00\x00\xfe\xff\xff\xff", 8);  // 3, -2
  write_bytes(path("py.safetensors"), file_bytes(header, data));
  SafetensorsFile in = load_safetensors(path("py.safetensors"));
  EXPECT_FLOAT_EQ(in.tensors.at("a").item(), 0.75f);
  EXPECT_EQ(in.tensors.at("b").to_ints(), (std::vector<int32_t>{3, -2}));
  EXPECT_EQ(in.metadata.at("format"), "pt");
}

TEST_F(Checkpoint, SaveRejectsBadNames) {
  const Tensor t = Tensor::zeros({1});
  EXPECT_THROW(save_safetensors(path("x"), {{"", t}}), std::invalid_argument);
  EXPECT_THROW(save_safetensors(path("x"), {{"a", t}, {"a", t}}), std::invalid_argument);
  EXPECT_THROW(save_safetensors(path("x"), {{"__metadata__", t}}), std::invalid_argument);
  EXPECT_THROW(save_safetensors(path("x"), {{"a", Tensor()}}), std::invalid_argument);
  EXPECT_THROW(save_safetensors(path("x"), {{"a", t}}, {{"k", "v"}, {"k", "w"}}), std::invalid_argument);
  EXPECT_THROW(save_safetensors(path("x"), {{"a", t}}, {{"k", std::string("\xff\xfe", 2)}}), std::invalid_argument);
  EXPECT_FALSE(fs::exists(path("x")));
}

// ---------------------------------------------------------------- broken files

TEST_F(Checkpoint, MissingFileIsAnInputError) {
  const std::string p = path("nowhere.safetensors");
  EXPECT_THAT(load_error(p), HasSubstr(p));
  EXPECT_THAT(load_error(p), HasSubstr("no such file"));
  EXPECT_THAT(load_error(dir_.string()), HasSubstr("is a folder"));
}

TEST_F(Checkpoint, EachBrokenFileIsAnInputErrorSayingWhatIsWrong) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string two = floats_le({1.f, 2.f});
  struct Case {
    const char* name;
    std::string bytes;
    const char* expect;
  };
  const std::vector<Case> cases{
      {"empty", "", "too short for the 8-byte header length"},
      {"shorter_than_length", "\x10\x00\x00", "too short for the 8-byte header length"},
      {"header_longer_than_file", file_bytes("{" + ok_entry + "}", two, 1000), "header length says 1000 bytes"},
      {"header_length_huge", file_bytes("{}", "", int64_t{1} << 62), "header length says"},
      {"header_too_short", file_bytes("{", ""), "too short for a JSON object"},
      {"not_json", file_bytes("{\"a\": [1, 2,}", ""), "not valid JSON"},
      {"not_an_object", file_bytes("[1, 2, 3]", ""), "does not start with '{'"},
      {"truncated_data", file_bytes("{" + ok_entry + "}", two.substr(0, 5)), "run past the end of the data"},
      {"trailing_bytes", file_bytes("{" + ok_entry + "}", two + "xyz!"), "trailing bytes"},
      {"size_disagrees_with_shape", file_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", two),
       "needs 12"},
      {"end_before_begin", file_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", two),
       "end before they begin"},
      {"overlap",
       file_bytes(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
           two),
       "overlap"},
      {"gap", file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", two), "belong to no tensor"},
      {"unknown_dtype", file_bytes(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", two),
       "dtype \"Q7\" is not supported"},
      {"unsupported_dtype", file_bytes(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", two),
       "dtype \"F16\" is not supported"},
      {"dtype_not_string", file_bytes(R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", two), "not a string"},
      {"negative_dim", file_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", two),
       "not a non-negative integer"},
      {"fractional_dim", file_bytes(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", two),
       "not a non-negative integer"},
      {"shape_overflows",
       file_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", two),
       "more than 2^63"},
      {"missing_offsets", file_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", two), "\"data_offsets\" is missing"},
      {"bad_offsets", file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", two), "not [begin, end]"},
      {"entry_not_object", file_bytes(R"({"a":"F32"})", ""), "not an object"},
      {"duplicate_name", file_bytes("{" + ok_entry + "," + ok_entry + "}", two), "names 'a' twice"},
      {"metadata_not_strings", file_bytes("{\"__metadata__\":{\"step\":5}," + ok_entry + "}", two),
       "metadata values must be strings"},
  };
  for (const Case& c : cases) {
    const std::string p = path(std::string(c.name) + ".safetensors");
    write_bytes(p, c.bytes);
    const std::string msg = load_error(p);
    EXPECT_THAT(msg, HasSubstr(p)) << c.name;
    EXPECT_THAT(msg, HasSubstr(c.expect)) << c.name;
  }
}

TEST_F(Checkpoint, EveryTruncationAndByteFlipFailsCleanly) {
  // Cut a valid file at every length, and overwrite each byte with a few values: each result loads or
  // is an InputError; nothing else (no crash, no other exception, no read out of bounds under ASan).
  save_safetensors(path("ok.safetensors"),
                   {{"w", Tensor::from_vector({1.f, 2.f, 3.f}, {3})}, {"i", Tensor::from_ints({4}, {1})}},
                   {{"k", "v"}});
  const std::string good = read_bytes(path("ok.safetensors"));
  const std::string p = path("bad.safetensors");
  for (std::size_t len = 0; len < good.size(); ++len) {
    write_bytes(p, good.substr(0, len));
    EXPECT_THAT(load_error(p), HasSubstr(p)) << "truncated to " << len;
  }
  int loaded = 0, refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char v : {'\0', '9', '"', '}', ',', '\xff'}) {
      if (good[i] == v) continue;
      std::string bytes = good;
      bytes[i] = v;
      write_bytes(p, bytes);
      const std::string msg = load_error(p);
      if (msg == "loaded without error") {
        ++loaded;
      } else {
        ++refused;
        EXPECT_THAT(msg, HasSubstr(p)) << "byte " << i << " set to " << int(v);
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);  // flips in the data part are still valid files
}

// ---------------------------------------------------------------- load_into

TEST_F(Checkpoint, LoadIntoCopiesParametersAndBuffers) {
  Tiny a(1), b(2);
  save_safetensors(path("t.safetensors"), a.state());
  LoadReport r = load_into(b, path("t.safetensors"));
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.loaded, 5);  // fc.weight, fc.bias, scale, code, ids
  expect_same_state(a, b);
  EXPECT_TRUE(b.scale.requires_grad());  // still a trainable parameter
}

TEST_F(Checkpoint, LoadIntoConvertsBf16ToF32) {
  Tiny a(1), b(2);
  NamedTensors st = a.state();
  for (auto& [name, t] : st)
    if (t.dtype() == DType::f32) t = t.to(DType::bf16);
  save_safetensors(path("bf.safetensors"), st);
  load_into(b, path("bf.safetensors"));
  EXPECT_EQ(b.scale.dtype(), DType::f32);
  EXPECT_EQ(b.scale.to_vector(), a.scale.to(DType::bf16).to_vector());
}

TEST_F(Checkpoint, StrictLoadNamesEveryDifferenceAndChangesNothing) {
  Tiny a(1, /*out=*/4), b(2);
  NamedTensors st = a.state();
  st.erase(st.begin());                                // drop "scale" (own parameters come first)
  st.emplace_back("head.weight", Tensor::zeros({1}));  // not in the model
  save_safetensors(path("s.safetensors"), st);
  const std::vector<float> before = b.fc->weight.to_vector();
  try {
    load_into(b, path("s.safetensors"), /*strict=*/true);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr(path("s.safetensors")));
    EXPECT_THAT(msg, HasSubstr("missing from the file (1): scale"));
    EXPECT_THAT(msg, HasSubstr("not in the model (1): head.weight"));
    EXPECT_THAT(msg, HasSubstr("fc.weight: file F32 [4, 3], module F32 [2, 3]"));
    EXPECT_THAT(msg, HasSubstr("fc.bias: file F32 [4], module F32 [2]"));
  }
  EXPECT_EQ(b.fc->weight.to_vector(), before);
}

TEST_F(Checkpoint, NonStrictLoadCopiesWhatMatchesAndReportsTheRest) {
  Tiny a(1, /*out=*/4), b(2);
  NamedTensors st = a.state();
  st.erase(st.begin());
  st.emplace_back("head.weight", Tensor::zeros({1}));
  save_safetensors(path("n.safetensors"), st);
  const std::vector<float> fc_before = b.fc->weight.to_vector();
  LoadReport r = load_into(b, path("n.safetensors"), /*strict=*/false);
  EXPECT_EQ(r.loaded, 2);  // code, ids
  EXPECT_EQ(r.missing, std::vector<std::string>{"scale"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"head.weight"});
  EXPECT_EQ(r.mismatched.size(), 2u);
  EXPECT_EQ(b.code.to_vector(), a.code.to_vector());
  EXPECT_EQ(b.ids.to_ints(), a.ids.to_ints());
  EXPECT_EQ(b.fc->weight.to_vector(), fc_before);
}

TEST_F(Checkpoint, OptimizerStateResumesThroughAFile) {
  // Model and optimizer in one file; a second model + optimizer restored from it continues identically.
  Tiny a(1), b(2);
  AdamW oa(a.named_parameters(), {.lr = 0.01f});
  auto train_step = [](Tiny& m, Optimizer& o, float k) {
    o.zero_grad();
    Tensor x = Tensor::from_vector({k, 1.f, -k}, {3});
    ops::sum(ops::square(ops::mul(x, m.scale))).backward();
    o.step();
  };
  for (float k : {1.f, 2.f, 3.f}) train_step(a, oa, k);
  NamedTensors all = a.state();
  for (auto& e : with_prefix("optimizer.", oa.state())) all.push_back(e);
  save_safetensors(path("resume.safetensors"), all, {{"step", "3"}});

  SafetensorsFile f = load_safetensors(path("resume.safetensors"));
  AdamW ob(b.named_parameters(), {.lr = 0.01f});
  LoadReport r = load_into(b, path("resume.safetensors"), /*strict=*/false);
  EXPECT_EQ(r.unexpected.size(), 3u);  // the optimizer's entries
  ob.load_state(select_prefix(f.tensors, "optimizer."));
  EXPECT_EQ(ob.steps(0), 3);  // "scale", the only parameter with a gradient
  for (float k : {4.f, 5.f}) {
    train_step(a, oa, k);
    train_step(b, ob, k);
  }
  expect_same_state(a, b);
}

// ---------------------------------------------------------------- atomic writes

TEST_F(Checkpoint, SaveReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  const std::string p = path("model.safetensors");
  write_bytes(p, "old content");
  save_safetensors(p, {{"a", Tensor::ones({2})}});
  EXPECT_EQ(load_safetensors(p).tensors.at("a").to_vector(), (std::vector<float>{1.f, 1.f}));
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "model.safetensors");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(Checkpoint, AnUncommittedWriteLeavesTheOldFile) {
  const std::string p = path("results.json");
  write_file_atomic(p, "{\"old\": true}\n");
  {
    AtomicFile f(p);
    f.write("{\"new\": ");
    EXPECT_TRUE(fs::exists(f.temp_path()));
    EXPECT_EQ(fs::path(f.temp_path()).parent_path(), dir_);  // same folder, so rename is atomic
  }                                                          // destroyed before commit, e.g. by an exception
  EXPECT_EQ(read_bytes(p), "{\"old\": true}\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(Checkpoint, WritingIntoAMissingFolderIsAnInputError) {
  const std::string p = path("no/such/folder/model.safetensors");
  try {
    save_safetensors(p, {{"a", Tensor::ones({1})}});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(p));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
  EXPECT_THROW(write_file_atomic(dir_.string(), "x"), InputError);  // a folder is not a file
}
