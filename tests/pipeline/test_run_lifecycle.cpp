// A run's life as `datamux run` sees it: init_from that loads only part of a model, eval against
// another vocabulary, the run folder's states (run.json), SIGTERM, and a SIGKILLed run resumed to the
// same weights as one never stopped.
#include <datamux/core/checkpoint.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/train/trainer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <chrono>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "run_test_util.hpp"

using namespace datamux;
using namespace datamux::runtime;
using datamux::testing::quiet_run;
using datamux::testing::run_cli;
using datamux::testing::scratch_dir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

extern char** environ;

namespace {

// Retrieval small enough for a step of a few milliseconds, with every random stream in use: dropout
// in the backbone and the retrieval head's sampled instance.
const char* kTiny =
    "[task]\nkind = \"retrieval\"\nvocab = 40\nlength = 6\neval_examples = 64\n"
    "[model]\ninstances = 2\nhidden = 16\nseed = 5\n"
    "[mux]\nplugin = \"gaussian\"\n[backbone]\nplugin = \"transformer\"\nlayers = 1\nheads = 2\nffn = 32\ndropout = 0.1\n"
    "[demux]\nplugin = \"index\"\n"
    "[train]\nsteps = 20\nbatch = 4\nretrieval_loss_coeff = 1.0\n"
    "[eval]\nthroughput_steps = 1\n";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string run_state(const fs::path& dir) {
  std::ifstream in(dir / "run.json");
  if (!in) return "";
  return nlohmann::json::parse(in).value("state", "");
}

class RunLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_dir("lifecycle");
    std::ofstream(dir_ / "tiny.toml") << kTiny;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string tiny() const { return (dir_ / "tiny.toml").string(); }
  fs::path dir_;
};

TEST_F(RunLifecycle, InitFromThatFitsNothingIsAnError) {
  // A checkpoint of another model altogether: other names, and the one shared name with another shape.
  const std::string ckpt = (dir_ / "other.safetensors").string();
  save_safetensors(ckpt, {{"encoder.weight", Tensor::zeros({3, 3})}, {"embed.norm.weight", Tensor::zeros({7})}});
  for (const char* partial : {"false", "true"}) {  // nothing to start from is never what was meant
    PipelineConfig other =
        load_pipeline(tiny(), {"train.init_from=\"" + ckpt + "\"", std::string("train.init_from_partial=") + partial});
    try {
      run_pipeline(other, quiet_run(dir_ / "b"));
      FAIL() << "ran";
    } catch (const InputError& e) {
      EXPECT_THAT(e.what(), HasSubstr("none of the checkpoint's 2 tensors fits the model's"));
      EXPECT_THAT(e.what(), HasSubstr("embed.norm.weight (checkpoint [7], model [16])"));
      EXPECT_THAT(e.what(), HasSubstr("not in the model, ignored (1): encoder.weight [3, 3]"));
    }
    // Nothing was written: the pipeline is checked before the output folder is touched.
    EXPECT_FALSE(fs::exists(dir_ / "b"));
  }
}

TEST_F(RunLifecycle, PartialInitFromNeedsInitFromPartialAndListsWhatLoaded) {
  run_pipeline(load_pipeline(tiny(), {"train.steps=1"}), quiet_run(dir_ / "a"));
  const std::string init = "train.init_from=\"" + (dir_ / "a" / "model.safetensors").string() + "\"";
  // Another vocabulary: the token embedding and the decoder differ, the rest fits.
  PipelineConfig c = load_pipeline(tiny(), {"task.vocab=50", init});
  try {
    build_pipeline(c);
    FAIL() << "built";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("set [train] init_from_partial = true"));
    EXPECT_THAT(e.what(), HasSubstr("embed.tokens.weight (checkpoint [40, 16], model [50, 16])"));
  }
  c = load_pipeline(tiny(), {"task.vocab=50", init, "train.init_from_partial=true"});
  const BuiltPipeline p = build_pipeline(c);
  ASSERT_GE(p.notes.size(), 3u);
  EXPECT_THAT(p.notes[0], HasSubstr("(init_from_partial: the rest keep their initialisation)"));
  EXPECT_THAT(p.notes[1], HasSubstr("loaded ("));
  EXPECT_THAT(p.notes[1], HasSubstr("embed.positions.weight [6, 16]"));
  EXPECT_THAT(p.notes[2], HasSubstr("other shape or dtype (3): embed.tokens.weight (checkpoint [40, 16], model [50, 16])"));
  // The same model loads whole without the flag, and says so.
  const BuiltPipeline same = build_pipeline(load_pipeline(tiny(), {init}));
  ASSERT_EQ(same.notes.size(), 2u);
  EXPECT_THAT(same.notes[0], ::testing::Not(HasSubstr("init_from_partial")));
}

TEST_F(RunLifecycle, EvalRefusesACheckpointTrainedWithAnotherVocabulary) {
  // Two training files with vocabularies of the same size but other words.
  std::ofstream(dir_ / "one.tsv") << "text\tlabel\nred apple\tpos\ngreen pear\tneg\nred pear\tpos\ngreen apple\tneg\n";
  std::ofstream(dir_ / "two.tsv") << "text\tlabel\nblue plum\tpos\npink lime\tneg\nblue lime\tpos\npink plum\tneg\n";
  const std::string text =
      "[task]\nkind = \"text_classification\"\nlength = 4\nvocab = 0\ntest_fraction = 0.25\n"
      "[model]\ninstances = 2\nhidden = 8\n[mux]\nplugin = \"gaussian\"\n"
      "[backbone]\nplugin = \"transformer\"\nlayers = 1\nheads = 2\nffn = 8\n[demux]\nplugin = \"index\"\n"
      "[train]\nsteps = 1\nbatch = 1\n[eval]\nthroughput_steps = 1\n";
  std::ofstream(dir_ / "text.toml") << text;
  const std::string p = (dir_ / "text.toml").string();
  run_pipeline(load_pipeline(p, {"task.train_file=\"" + (dir_ / "one.tsv").string() + "\""}), quiet_run(dir_ / "run"));
  RunOptions e = quiet_run(dir_ / "eval");
  e.checkpoint = (dir_ / "run" / "model.safetensors").string();
  // The data the checkpoint was trained on evaluates; the other is refused naming both.
  EXPECT_NO_THROW(eval_pipeline(load_pipeline(p, {"task.train_file=\"" + (dir_ / "one.tsv").string() + "\""}), e));
  try {
    eval_pipeline(load_pipeline(p, {"task.train_file=\"" + (dir_ / "two.tsv").string() + "\""}), e);
    FAIL() << "evaluated";
  } catch (const InputError& err) {
    EXPECT_THAT(err.what(), HasSubstr("was trained with another tokenizer than pipeline '" + p));
    EXPECT_THAT(err.what(), HasSubstr("the checkpoint's has 8 words, the pipeline's data gives 8"));
    EXPECT_THAT(err.what(), ::testing::MatchesRegex(".*id 4 is '[a-z]+' in the checkpoint and '[a-z]+' in the pipeline.*"));
  }
}

TEST_F(RunLifecycle, FinishedRunIsNotOverwrittenWithoutOverwrite) {
  const fs::path out = dir_ / "out";
  run_pipeline(load_pipeline(tiny(), {"train.steps=1"}), quiet_run(out));
  EXPECT_EQ(run_state(out), "done");
  EXPECT_EQ(nlohmann::json::parse(read_text(out / "results.json")).value("state", ""), "done");
  const std::string before = read_text(out / "results.json");
  try {
    run_pipeline(load_pipeline(tiny(), {"train.steps=2"}), quiet_run(out));
    FAIL() << "overwrote";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("holds a finished run"));
    EXPECT_THAT(e.what(), HasSubstr("--overwrite"));
  }
  EXPECT_EQ(read_text(out / "results.json"), before);
  RunOptions o = quiet_run(out);
  o.overwrite = true;
  EXPECT_EQ(run_pipeline(load_pipeline(tiny(), {"train.steps=2"}), o).steps_done, 2);
  EXPECT_EQ(run_state(out), "done");
}

TEST_F(RunLifecycle, FailedRunIsRecordedAndItsFolderReusedWithoutStaleFiles) {
  const fs::path out = dir_ / "out";
  PipelineConfig diverging = load_pipeline(tiny(), {"train.lr=1e30", "train.clip_norm=0.0"});
  EXPECT_THROW(run_pipeline(diverging, quiet_run(out)), TrainingError);
  EXPECT_EQ(run_state(out), "failed");
  EXPECT_THAT(read_text(out / "run.json"), HasSubstr("training stopped at step"));
  EXPECT_FALSE(fs::exists(out / "results.json"));
  // A checkpoint temp file of a writer that was SIGKILLed (no such pid) is removed by the next run.
  std::ofstream(out / ".model.safetensors.tmp.2147483646.0") << "half a checkpoint";
  run_pipeline(load_pipeline(tiny(), {"train.steps=1"}), quiet_run(out));
  EXPECT_FALSE(fs::exists(out / ".model.safetensors.tmp.2147483646.0"));
  EXPECT_EQ(run_state(out), "done");
}

// ---------------------------------------------------------------- signals and resume

struct Child {
  pid_t pid = -1;
};

Child spawn_datamux(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> argv = {std::string(DATAMUX_BINARY_DIR) + "/bin/datamux"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  Child c;
  posix_spawn(&c.pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits (up to a minute) until `file` exists.
bool wait_for(const fs::path& file) {
  for (int i = 0; i < 6000; ++i) {
    if (fs::exists(file)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::map<std::string, Tensor> weights(const fs::path& run) { return load_safetensors((run / "model.safetensors").string()).tensors; }

double max_difference(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  double worst = 0;
  for (const auto& [name, t] : a) {
    const Tensor& u = b.at(name);
    const Tensor x = t.to(DType::f32), y = u.to(DType::f32);
    for (int64_t i = 0; i < x.numel(); ++i)
      worst = std::max(worst, static_cast<double>(std::abs(x.data<float>()[i] - y.data<float>()[i])));
  }
  return worst;
}

TEST_F(RunLifecycle, SigtermStopsAtAStepSavesAndExits143ThenResumeFinishes) {
  const fs::path out = dir_ / "term";
  Child c = spawn_datamux({"run", tiny(), "--set", "train.steps=100000", "--out", out.string()}, dir_ / "term.log");
  ASSERT_TRUE(wait_for(out / "pipeline.toml"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(c.pid, SIGTERM);
  EXPECT_EQ(wait_exit(c.pid), 143) << read_text(dir_ / "term.log");
  EXPECT_THAT(read_text(dir_ / "term.log"), HasSubstr("SIGTERM at step"));
  EXPECT_EQ(run_state(out), "interrupted");
  const auto results = nlohmann::json::parse(read_text(out / "results.json"));
  EXPECT_EQ(results.value("state", ""), "interrupted");
  EXPECT_FALSE(results.contains("accuracy"));  // nothing was evaluated (a sweep does not count it as finished)
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "resume.safetensors"));
  // Resuming with other settings is refused; with the same ones it continues (to 100000 steps: stop it again
  // with SIGINT this time).
  EXPECT_THAT(run_cli("run " + tiny() + " --set train.steps=5 --resume " + out.string()).output,
              HasSubstr("is not the one the run started with"));
  Child again = spawn_datamux({"run", tiny(), "--set", "train.steps=100000", "--resume", out.string()}, dir_ / "int.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(again.pid, SIGINT);
  EXPECT_EQ(wait_exit(again.pid), 130) << read_text(dir_ / "int.log");
  EXPECT_THAT(read_text(dir_ / "int.log"), HasSubstr("resume  from step"));
  EXPECT_EQ(run_state(out), "interrupted");
  // A plain rerun into the interrupted run's folder would throw its checkpoint away: refused (exit 2),
  // naming --resume and --overwrite, and the folder is untouched; --overwrite starts afresh.
  const std::string resume_before = read_text(out / "resume.safetensors");
  const auto plain = run_cli("run --quiet " + tiny() + " --set train.steps=2 --out " + out.string());
  EXPECT_EQ(plain.code, 2) << plain.output;
  EXPECT_THAT(plain.output, HasSubstr("holds an interrupted run (stopped at step"));
  EXPECT_THAT(plain.output, HasSubstr("--resume " + out.string()));
  EXPECT_THAT(plain.output, HasSubstr("--overwrite"));
  EXPECT_EQ(read_text(out / "resume.safetensors"), resume_before);
  EXPECT_EQ(run_state(out), "interrupted");
  EXPECT_EQ(run_cli("run --quiet " + tiny() + " --set train.steps=2 --overwrite --out " + out.string()).code, 0);
  EXPECT_EQ(run_state(out), "done");
}

TEST_F(RunLifecycle, RunKilledAtARandomStepAndResumedEndsWithTheSameWeights) {
  const std::vector<std::string> sets = {"--set", "train.steps=300", "--set", "train.checkpoint_every=7"};
  auto args = [&](const fs::path& out, std::vector<std::string> extra) {
    std::vector<std::string> a = {"run", tiny(), "--quiet"};
    a.insert(a.end(), sets.begin(), sets.end());
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back(out.string());
    return a;
  };
  const fs::path whole = dir_ / "whole", killed = dir_ / "killed";
  ASSERT_EQ(wait_exit(spawn_datamux(args(whole, {"--out"}), dir_ / "whole.log").pid), 0) << read_text(dir_ / "whole.log");

  std::mt19937 pick(std::random_device{}());
  Child c = spawn_datamux(args(killed, {"--out"}), dir_ / "killed.log");
  ASSERT_TRUE(wait_for(killed / "resume.safetensors"));
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 200)(pick)));
  ::kill(c.pid, SIGKILL);
  wait_exit(c.pid);
  ASSERT_EQ(run_state(killed), "running") << "the run ended before it was killed: make it longer";
  const auto saved = load_safetensors((killed / "resume.safetensors").string()).metadata.at("datamux.step");
  ASSERT_EQ(wait_exit(spawn_datamux(args(killed, {"--resume"}), dir_ / "resumed.log").pid), 0) << read_text(dir_ / "resumed.log");
  EXPECT_EQ(run_state(killed), "done");
  const double diff = max_difference(weights(whole), weights(killed));
  EXPECT_LE(diff, 1e-6) << "killed after step " << saved;
  RecordProperty("resumed_from_step", saved);
}

}  // namespace
