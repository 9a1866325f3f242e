// Loading a bundle: run folders or checkpoints, and every way two models can disagree (exit 2 in the
// CLI, naming the mismatch).
#include <gtest/gtest.h>

#include "../pipeline/run_test_util.hpp"
#include "serve_test_util.hpp"

namespace datamux::testing {
namespace {

void expect_input_error(const std::vector<std::string>& sources, const std::string& words) {
  try {
    serve::Bundle::load(sources);
    ADD_FAILURE() << "no error; expected: " << words;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Bundle, LoadsRunFoldersAndCheckpointsSortedByN) {
  const auto dirs = trained_runs("sentiment");
  const serve::Bundle b = serve::Bundle::load({dirs[2], dirs[0] + "/model.safetensors", dirs[1]});
  EXPECT_EQ(b.instances(), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(b.task_kind(), "text_classification");
  EXPECT_EQ(b.length(), 8);
  EXPECT_EQ(b.labels().names(), (std::vector<std::string>{"neg", "pos"}));
}

TEST(Bundle, ACheckpointAloneCarriesItsPipeline) {
  // No pipeline.toml beside it: the checkpoint's metadata has the resolved pipeline.
  const auto dirs = trained_runs("sentiment");
  const fs::path lone = scratch_dir("serve-lone") / "model.safetensors";
  fs::copy_file(dirs[1] + "/model.safetensors", lone);
  const serve::Bundle b = serve::Bundle::load({lone.string()});
  EXPECT_EQ(b.instances(), (std::vector<int64_t>{2}));
}

TEST(Bundle, MismatchesAreNamed) {
  const auto a = trained_runs("sentiment");
  // Another data set: another vocabulary (the same words, other counts and order) and the same labels.
  const auto b = trained_runs("sentiment-other", 300, 99, 20);
  expect_input_error({a[0], b[1]}, "different tokenizers");
  expect_input_error({a[0], a[0]}, "are both N = 1");
  expect_input_error({a[0], "/nonexistent/run"}, "no such file or folder");
  const fs::path empty = scratch_dir("serve-empty");
  expect_input_error({empty.string()}, "no model.safetensors");
  expect_input_error({}, "at least one --model");
}

TEST(Bundle, CliExitsTwoOnAMismatch) {
  const auto a = trained_runs("sentiment");
  const CliResult r = run_cli("serve --port 0 --model " + a[0] + " --model " + a[0]);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("are both N = 1"), std::string::npos) << r.output;
  const CliResult f = run_cli("serve --port 0 --policy fixed --n 3 --model " + a[0]);
  EXPECT_EQ(f.code, 2) << f.output;
  EXPECT_NE(f.output.find("--n 3: the bundle has no model for it (it has N = 1)"), std::string::npos) << f.output;
}

}  // namespace
}  // namespace datamux::testing
