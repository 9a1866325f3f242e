// Runs every case of tests/bad_inputs/cases.tsv (written by make_corpus.py) as its own test: the
// reader named by the case's runner reads the file in this process, or `datamux` runs as a child with a
// time limit. A case passes when the exit code is the expected one (2: InputError, 0: read as
// documented; an uncaught exception of another type counts as 1, a signal or a time-out as a failure
// with its own message) and the message matches the case's regular expression.
#include <datamux/core/checkpoint.hpp>
#include <datamux/options.hpp>
#include <datamux/data/idx.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/tagging.hpp>
#include <datamux/data/text.hpp>
#include <datamux/data/tokenizer.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace datamux;

namespace {

const std::string kCorpus = std::string(DATAMUX_SOURCE_DIR) + "/tests/bad_inputs";
const std::string kDatamux = std::string(DATAMUX_BINARY_DIR) + "/bin/datamux";
constexpr int kTimeLimitSeconds = 60;  // every case takes well under a second; a hang is a failure

struct Case {
  std::string name, runner, input;
  int exit_code = 0;
  std::string regex;
};

// How gtest shows a case in failure output.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name << " (" << c.runner << ")"; }

std::vector<Case> load_cases() {
  std::vector<Case> out;
  std::ifstream in(kCorpus + "/cases.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() == 4) f.push_back("");  // an empty regex
    if (f.size() != 5) throw std::runtime_error("cases.tsv: malformed line: " + line);
    out.push_back({f[0], f[1], f[2], std::stoi(f[3]), f[4]});
  }
  return out;
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
}

std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scratch folder per case with what placeholders need: a FIFO (no writer: reading it would block)
// and a folder.
class Scratch {
 public:
  explicit Scratch(const std::string& name) {
    std::string safe = name;
    for (char& c : safe)
      if (c == '/') c = '_';
    dir_ = fs::temp_directory_path() / ("datamux-bad-input-" + std::to_string(::getpid()) + "-" + safe);
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "a-folder");
    if (::mkfifo((dir_ / "a-fifo").c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string fill(std::string s) const {
    const std::pair<std::string, std::string> subs[] = {{"{corpus}", kCorpus},
                                                        {"{tmp}", dir_.string()},
                                                        {"{fifo}", (dir_ / "a-fifo").string()},
                                                        {"{dir}", (dir_ / "a-folder").string()}};
    for (const auto& [from, to] : subs)
      for (std::size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, from.size(), to);
    return s;
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

struct Outcome {
  int exit_code = -1;
  std::string message;
};

// In-process readers: InputError -> 2 with its message; success -> 0 with a summary of what was read
// (so cases can assert what "read as documented" means, e.g. a U+FFFD in the text).
Outcome run_reader(const std::string& runner, const std::vector<std::string>& args) {
  try {
    std::ostringstream summary;
    const std::string& file = args.at(0);
    if (runner == "idx") {
      data::IdxArray a = data::read_idx(file);
      summary << "values=" << a.values.size();
    } else if (runner == "idx-images") {
      data::ImageSet s = data::read_idx_images(args.at(0), args.at(1), 10);
      summary << "images=" << s.size();
    } else if (runner == "fashion") {
      data::ImageSet train = data::load_fashion_mnist("train", file);
      data::ImageSet test = data::load_fashion_mnist("test", file);
      data::check_same_image_size(train, test);
      summary << train.size() << " train, " << test.size() << " test, " << train.rows << "x" << train.cols;
    } else if (runner == "safetensors") {
      summary << "tensors=" << load_safetensors(file).tensors.size();
    } else if (runner == "tsv") {
      data::DelimitedOptions o;
      o.text_column = "text";  // as the pipeline's [task] text_column default
      data::TextDataset d = data::read_delimited(file, o);
      summary << "examples=" << d.size() << " text0=" << d.texts.at(0);
    } else if (runner == "conll") {
      data::TaggingDataset d = data::read_conll(file);
      summary << "sentences=" << d.size() << " word0=" << d.words.at(0).at(0);
    } else if (runner == "brown") {
      data::TaggingDataset d = data::load_brown(file);
      summary << "sentences=" << d.size() << " word1=" << d.words.at(0).at(1);
    } else if (runner == "spam") {
      summary << "messages=" << data::load_spam_assassin(file).size();
    } else if (runner == "tokenizer") {
      summary << "vocab=" << data::WordTokenizer::from_string(read_file(file)).vocab_size();
    } else if (runner == "labels") {
      summary << "labels=" << data::LabelSet::from_string(read_file(file)).size();
    } else {
      return {-1, "unknown runner '" + runner + "'"};
    }
    return {0, summary.str()};
  } catch (const InputError& e) {
    return {2, e.what()};
  } catch (const std::exception& e) {
    return {1, std::string("not an InputError: ") + e.what()};
  }
}

// `datamux ARGS` as a child process, stderr (and stdout) captured, killed after the time limit.
Outcome run_cli(const std::vector<std::string>& args, const Scratch& scratch) {
  const std::string out_file = (scratch.dir() / "output.txt").string();
  const pid_t pid = ::fork();
  if (pid < 0) return {-1, "fork failed"};
  if (pid == 0) {
    std::FILE* f = std::freopen(out_file.c_str(), "w", stderr);
    if (!f) _exit(127);
    ::dup2(::fileno(stderr), STDOUT_FILENO);
    ::setenv("OMP_NUM_THREADS", "1", 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kDatamux.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kDatamux.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeLimitSeconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {-1, "timed out after " + std::to_string(kTimeLimitSeconds) + " s (a hang): " + read_file(out_file)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFSIGNALED(status)) return {-1, "killed by signal " + std::to_string(WTERMSIG(status)) + ": " + read_file(out_file)};
  return {WEXITSTATUS(status), read_file(out_file)};
}

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, IsRefusedOrReadAsDocumented) {
  const Case& c = GetParam();
  Scratch scratch(c.name);
  std::vector<std::string> args;
  for (const std::string& a : split_spaces(c.input)) args.push_back(scratch.fill(a));
  if (c.runner == "cli") {
    ASSERT_TRUE(fs::exists(kDatamux)) << kDatamux << " is not built";
  }
  const Outcome got = c.runner == "cli" ? run_cli(args, scratch) : run_reader(c.runner, args);
  EXPECT_EQ(got.exit_code, c.exit_code) << "case " << c.name << "\nmessage: " << got.message;
  EXPECT_TRUE(std::regex_search(got.message, std::regex(c.regex)))
      << "case " << c.name << "\nmessage: " << got.message << "\ndoes not match: " << c.regex;
  // An InputError's message names what the user has to fix: never an empty or internal message.
  if (c.exit_code == 2) {
    EXPECT_EQ(got.message.find("internal error"), std::string::npos) << got.message;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(load_cases()), case_name);

TEST(BadInputCorpus, HasAtLeast80Cases) { EXPECT_GE(load_cases().size(), 80u); }

}  // namespace
