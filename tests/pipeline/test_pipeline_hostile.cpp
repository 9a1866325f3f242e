// Hostile pipeline files that are too large for the committed corpus (tests/bad_inputs/): written here
// at test time. Each must be refused quickly with a short message naming the file and line, never a
// stack overflow, a hang or a 10 MB message.
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/train/trainer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "run_test_util.hpp"

using namespace datamux;
using namespace datamux::runtime;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
namespace fs = std::filesystem;

namespace {

const char* kMinimal =
    "[task]\nkind = \"retrieval\"\nvocab = 50\nlength = 8\n[model]\ninstances = 2\nhidden = 16\n"
    "[mux]\nplugin = \"gaussian\"\n[backbone]\nplugin = \"transformer\"\n[demux]\nplugin = \"index\"\n"
    "[train]\nsteps = 1\nbatch = 2\nretrieval_loss_coeff = 1.0\n";

struct Outcome {
  std::string message;
  double seconds = 0;
};

Outcome load_error(const fs::path& file, const std::vector<std::string>& sets = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  Outcome o;
  try {
    load_pipeline(file.string(), sets);
    o.message = "no error";
  } catch (const InputError& e) {
    o.message = e.what();
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string repeated(const std::string& part, std::size_t times, const std::string& sep) {
  std::string out;
  out.reserve((part.size() + sep.size()) * times);
  for (std::size_t i = 0; i < times; ++i) {
    if (i) out += sep;
    out += part;
  }
  return out;
}

class HostilePipeline : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = datamux::testing::scratch_dir("hostile"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HostilePipeline, BaseFileThatIsAFifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((dir_ / "base.fifo").c_str(), 0600), 0);
  const fs::path p = write(dir_, "child.toml", "base = \"base.fifo\"\n[model]\ninstances = 2\n");
  const Outcome o = load_error(p);
  EXPECT_THAT(o.message, HasSubstr("pipeline base file '"));
  EXPECT_THAT(o.message, HasSubstr("is a FIFO (named pipe), not a regular file"));
}

TEST_F(HostilePipeline, PipelineThatIsAFifoOrFolderIsRefused) {
  ASSERT_EQ(::mkfifo((dir_ / "p.fifo").c_str(), 0600), 0);
  EXPECT_THAT(load_error(dir_ / "p.fifo").message, HasSubstr("pipeline '"));
  EXPECT_THAT(load_error(dir_ / "p.fifo").message, HasSubstr("is a FIFO"));
  EXPECT_THAT(load_error(dir_).message, HasSubstr("is a folder"));
  EXPECT_THAT(load_error(dir_ / "missing.toml").message, HasSubstr("no such file"));
}

// Each of these overflowed the stack inside TOML++ (300,000 levels).
TEST_F(HostilePipeline, DeepDottedKeyIsRefusedAtItsLine) {
  const fs::path p = write(dir_, "dotted.toml", "[task]\n" + repeated("a", 300000, ".") + " = 1\n");
  EXPECT_THAT(load_error(p).message, MatchesRegex(".*dotted\\.toml:2: tables, keys and arrays nest more than 64 levels.*"));
}

TEST_F(HostilePipeline, DeepTableHeaderIsRefusedAtItsLine) {
  const fs::path p = write(dir_, "header.toml", "# deep\n\n[" + repeated("t", 300000, ".") + "]\nx = 1\n");
  EXPECT_THAT(load_error(p).message, HasSubstr("header.toml:3: tables, keys and arrays nest more than 64"));
}

TEST_F(HostilePipeline, DeepInlineTablesAndArraysAreRefused) {
  const fs::path t = write(dir_, "inline.toml", "x = " + repeated("{a=", 300000, "") + "1" + std::string(300000, '}') + "\n");
  EXPECT_THAT(load_error(t).message, HasSubstr("inline.toml:1: tables, keys and arrays nest more than 64"));
  const fs::path a = write(dir_, "arrays.toml", "\n\nx = " + std::string(300000, '[') + std::string(300000, ']') + "\n");
  EXPECT_THAT(load_error(a).message, HasSubstr("arrays.toml:3: tables, keys and arrays nest"));
}

TEST_F(HostilePipeline, DotsInsideStringsCommentsAndValuesDoNotCount) {
  std::string text = kMinimal;
  text += "lr = 1.5e-3\n# " + repeated("x", 200, ".") + "\n[output]\ndir = \"" + repeated("d", 200, ".") + "\"\n";
  const fs::path p = write(dir_, "dots.toml", text);
  EXPECT_EQ(load_error(p).message, "no error");
  // A header nesting 64 levels is fine; 65 is not.
  EXPECT_THAT(load_error(write(dir_, "h64.toml", "[" + repeated("a", 64, ".") + "]\n")).message, HasSubstr("unknown section 'a'"));
  EXPECT_THAT(load_error(write(dir_, "h65.toml", "[" + repeated("a", 65, ".") + "]\n")).message, HasSubstr("nest more than 64"));
}

TEST_F(HostilePipeline, DeepDottedKeyInSetIsRefused) {
  const Outcome o = load_error(write(dir_, "ok.toml", kMinimal), {repeated("a", 20000, ".") + "=1"});
  EXPECT_THAT(o.message, HasSubstr("nest more than 64"));
  EXPECT_LT(o.message.size(), 400u);
}

TEST_F(HostilePipeline, SectionWith200kKeysIsRefusedQuickly) {
  std::string text = "[mux]\nplugin = \"gaussian\"\n";
  for (int i = 0; i < 200000; ++i) {  // appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "k" + s + "..."
    text += 'k';
    text += std::to_string(i);
    text += " = 1\n";
  }
  const Outcome o = load_error(write(dir_, "keys.toml", text));
  EXPECT_THAT(o.message, HasSubstr("keys.toml:1:1: [mux] has 200001 keys; a section holds at most 1024"));
  EXPECT_LT(o.seconds, 10.0);  // was minutes (a linear look-up per key)
}

TEST_F(HostilePipeline, TenMegabyteStringIsReportedShortAndQuickly) {
  const std::string huge(10 << 20, 'x');
  for (const std::string& where : {"[task]\n" + huge + " = 1\n", huge + " = 1\n"}) {
    const Outcome o = load_error(write(dir_, "huge.toml", where));
    EXPECT_NE(o.message, "no error");
    EXPECT_LT(o.message.size(), 1000u) << o.message.substr(0, 300);
    EXPECT_LT(o.seconds, 10.0);
  }
  // [task] kind is checked against the registered task kinds when the task is built.
  const auto t_kind = std::chrono::steady_clock::now();
  std::string kind;
  try {
    make_task(load_pipeline(write(dir_, "kind.toml", "[task]\nkind = \"" + huge + "\"\n").string(), {}));
  } catch (const InputError& e) {
    kind = e.what();
  }
  EXPECT_THAT(kind, HasSubstr("kind.toml:2:1: [task] kind = \""));
  EXPECT_THAT(kind, HasSubstr("... (10485760 bytes in all)\": unknown task kind"));
  EXPECT_LT(kind.size(), 1000u) << kind.substr(0, 300);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_kind).count(), 10.0);
  // A plugin name is looked up when the model is built.
  const PipelineConfig c = load_pipeline(write(dir_, "plugin.toml", kMinimal).string(), {});
  PipelineConfig named = c;
  named.mux.plugin = huge;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    build_pipeline(named);
    FAIL() << "built";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no mux plugin named 'xxx"));
    EXPECT_LT(std::string(e.what()).size(), 2000u);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

TEST_F(HostilePipeline, FileOverTheSizeLimitIsRefused) {
  const Outcome o = load_error(write(dir_, "big.toml", "# " + std::string(17 << 20, 'x') + "\n"));
  EXPECT_THAT(o.message, HasSubstr("more than the 16777216-byte limit"));
}

TEST_F(HostilePipeline, OptimizerValuesTheOptimizerWouldRejectAreRefusedByValidation) {
  const fs::path p = write(dir_, "p.toml", kMinimal);
  EXPECT_THAT(load_error(p, {"train.beta1=1.0"}).message,
              HasSubstr("--set train.beta1=1.0: [train] beta1 = 1: must be below 1"));
  // 0.99999999 is below 1 as a double, but 1.0f in the optimizer.
  EXPECT_THAT(load_error(p, {"train.beta2=0.99999999"}).message, HasSubstr("[train] beta2 = 0.99999999: must be below 1"));
  EXPECT_THAT(load_error(p, {"train.lr=1e300"}).message, HasSubstr("[train] lr = 1e+300: too large for the 32-bit floats"));
  std::string located = kMinimal;
  located += "beta1 = 1.0\n";
  EXPECT_THAT(load_error(write(dir_, "b.toml", located)).message, HasSubstr("b.toml:18:9: [train] beta1 = 1"));
  EXPECT_EQ(load_error(p, {"train.beta2=0.9999"}).message, "no error");
}

// A Latin-1 file name: results.json (JSON, UTF-8 only) could not record it, which failed after the run.
TEST_F(HostilePipeline, PipelinePathThatIsNotUtf8IsRefusedUpFront) {
  const fs::path p = write(dir_, "caf\xe9.toml", kMinimal);
  EXPECT_THAT(load_error(p).message, HasSubstr("caf\xef\xbf\xbd.toml': byte "));
  EXPECT_THAT(load_error(p).message, HasSubstr("(0xE9) is not valid UTF-8; rename the file"));
  const datamux::testing::CliResult r = datamux::testing::run_cli("validate '" + p.string() + "'");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is not valid UTF-8"));
}

TEST_F(HostilePipeline, SizesAreBoundedInTheSchema) {
  const fs::path p = write(dir_, "p.toml", kMinimal);
  for (const char* set : {"model.hidden=1000000", "task.vocab=100000000", "task.length=100000",
                                 "train.batch=10000000", "eval.batch=10000000", "task.eval_examples=100000000",
                                 "eval.throughput_steps=100000000"})
    EXPECT_THAT(load_error(p, {set}).message, HasSubstr("is out of range [")) << set;
}

// The shapes alone (a 2^20-token embedding and decoder 16384 wide: 137 GB of weights) are refused
// before anything is allocated; a small model is refused when the machine has too little memory.
TEST_F(HostilePipeline, PeakMemoryEstimateAboveAvailableMemoryIsRefused) {
  const fs::path p = write(dir_, "p.toml", kMinimal);
  PipelineConfig big = load_pipeline(p.string(), {"model.hidden=16384", "task.vocab=1048576"});
  try {
    build_pipeline(big);
    FAIL() << "built";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), MatchesRegex(".*needs an estimated 549\\.[0-9]+ GB of memory \\(a lower bound, from the shapes "
                                       "alone\\): weights 137\\.[0-9]+ GB, gradients and optimizer state .* GB is available.*"));
  }
  PipelineConfig small = load_pipeline(p.string());
  ::setenv("DATAMUX_MEMORY_AVAILABLE", "20000", 1);
  std::string message;
  try {
    build_pipeline(small);
  } catch (const InputError& e) {
    message = e.what();
  }
  ::unsetenv("DATAMUX_MEMORY_AVAILABLE");
  EXPECT_THAT(message, HasSubstr("but 0.00 GB is available"));
  EXPECT_NO_THROW(build_pipeline(small));
}

}  // namespace
