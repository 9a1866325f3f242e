// `datamux report`'s files from a folder of runs with known figures: rows, aggregates, tables, charts.
#include <datamux/error.hpp>
#include <datamux/runtime/sweep/report.hpp>
#include <datamux/runtime/sweep/svg_chart.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sweep_test_util.hpp"

using ::testing::HasSubstr;
using namespace datamux::runtime::sweep;
namespace fs = std::filesystem;

namespace {

// A run folder as `datamux sweep` leaves it, with chosen figures.
void fake_run(const fs::path& dir, const std::string& mux, int n, int seed, double acc, double tput) {
  std::string name = "instances=" + std::to_string(n) + ",mux=" + mux + ",seed=" + std::to_string(seed);
  fs::create_directories(dir / name);
  nlohmann::json info = {{"name", name},
                         {"swept_keys", {"model.instances", "mux.plugin", "model.seed"}},
                         {"settings", {{"model.instances", n}, {"mux.plugin", mux}, {"model.seed", seed}}}};
  std::ofstream(dir / name / "sweep_run.json") << info.dump();
  nlohmann::json per = nlohmann::json::array();
  for (int i = 0; i < n; ++i) per.push_back(acc - 0.01 * i);
  nlohmann::json res = {{"instances", n}, {"mux", mux}, {"backbone", "transformer"}, {"demux", "index"},
                        {"task", "retrieval"}, {"seed", seed}, {"steps", 10}, {"accuracy", acc}, {"loss", 1.0 - acc},
                        {"per_instance_accuracy", per}, {"train_examples_per_s", 100.0 * n},
                        {"inference_examples_per_s", tput}, {"wall_seconds", 2.0}, {"peak_rss_bytes", 1000},
                        {"resolved_pipeline", "[task]\nkind = \"retrieval\"\n"}};
  std::ofstream(dir / name / "results.json") << res.dump();
}

fs::path fake_sweep(const std::string& tag) {
  fs::path d = datamux::testing::sweep_scratch(tag);
  for (int seed : {1, 2}) {
    fake_run(d, "gaussian", 1, seed, 0.90 + 0.02 * seed, 1000);  // mean 0.93, std 0.0141
    fake_run(d, "gaussian", 4, seed, 0.80, 3000);
    fake_run(d, "hadamard", 1, seed, 0.95, 1000);
    fake_run(d, "hadamard", 4, seed, 0.70, 2000);
  }
  // An interrupted run: sweep_run.json and a log, no results.
  fs::create_directories(d / "instances=8,mux=gaussian,seed=1");
  std::ofstream(d / "instances=8,mux=gaussian,seed=1" / "sweep_run.json") << "{}";
  fs::create_directories(d / "not-a-run");
  return d;
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(SweepReport, CollectsFinishedRunsGroupedBySweptKeys) {
  auto r = collect_results(fake_sweep("collect").string());
  ASSERT_EQ(r.runs.size(), 8u);
  EXPECT_EQ(r.unfinished, std::vector<std::string>{"instances=8,mux=gaussian,seed=1"});
  EXPECT_EQ(r.group_keys, std::vector<std::string>{"mux.plugin"});
  EXPECT_EQ(r.runs.front().group, "mux=gaussian");

  auto acc = aggregate(r, "accuracy");
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_NEAR(acc["mux=gaussian"][1].mean, 0.93, 1e-12);
  EXPECT_NEAR(acc["mux=gaussian"][1].std, 0.0141421356, 1e-9);
  EXPECT_EQ(acc["mux=gaussian"][1].count, 2);
  auto mult = throughput_multiplier(r);
  EXPECT_NEAR(mult["mux=gaussian"][4].mean, 3.0, 1e-12);
  EXPECT_NEAR(mult["mux=hadamard"][4].mean, 2.0, 1e-12);
  EXPECT_EQ(per_index_n(r), 4);  // some group keeps >= 50% at N = 4
  auto per = per_index_accuracy(r, 4);
  ASSERT_EQ(per["mux=hadamard"].size(), 4u);
  EXPECT_NEAR(per["mux=hadamard"][3], 0.67, 1e-12);
}

TEST(SweepReport, CsvHasOneRowPerRunWithTheExpectedColumns) {
  auto d = fake_sweep("csv");
  auto r = collect_results(d.string());
  write_report(r);
  std::istringstream in(datamux::testing::read_text(d / "results.csv"));
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "run,model.instances,mux.plugin,model.seed,instances,mux,backbone,demux,task,seed,steps,accuracy,loss,"
            "train_examples_per_s,inference_examples_per_s,wall_seconds,peak_rss_bytes,peak_tensor_bytes,per_instance_accuracy");
  const auto columns = std::count(header.begin(), header.end(), ',');
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    // Run names hold commas, so they are quoted; count the columns outside quotes.
    int commas = 0;
    bool quoted = false;
    for (char c : line) quoted ^= (c == '"'), commas += (!quoted && c == ',');
    EXPECT_EQ(commas, columns) << line;
  }
  EXPECT_EQ(rows, 8);
  EXPECT_THAT(datamux::testing::read_text(d / "results.csv"), HasSubstr("\"instances=4,mux=hadamard,seed=2\",4,hadamard,2,4,hadamard"));

  auto j = nlohmann::json::parse(datamux::testing::read_text(d / "results.json"));
  EXPECT_EQ(j["runs"].size(), 8u);
  EXPECT_FALSE(j["runs"][0].contains("resolved_pipeline"));
  EXPECT_EQ(j["unfinished"].size(), 1u);
}

TEST(SweepReport, MarkdownTablesShowMeanStdAndMarkTheBest) {
  auto md = report_markdown(collect_results(fake_sweep("md").string()));
  EXPECT_THAT(md, HasSubstr("| mux.plugin | N=1 | N=4 |"));
  EXPECT_THAT(md, HasSubstr("| mux=gaussian | 0.9300 ± 0.0141 | **0.8000 ± 0.0000** |"));
  EXPECT_THAT(md, HasSubstr("| mux=hadamard | **0.9500 ± 0.0000** | 0.7000 ± 0.0000 |"));
  EXPECT_THAT(md, HasSubstr("**3.00 ± 0.00**"));
  EXPECT_THAT(md, HasSubstr("1 unfinished"));
}

TEST(SweepReport, HtmlIsSelfContainedWithOneSvgPerChartAndOneSeriesPerGroup) {
  auto html = report_html(collect_results(fake_sweep("html").string()));
  EXPECT_EQ(count(html, "<svg"), 4);
  EXPECT_EQ(count(html, "</svg>"), 4);
  // accuracy, multiplier (+ the ideal line), per-index, trade-off: 2 groups each.
  EXPECT_EQ(count(html, "<g class=\"series\" data-name=\"mux=gaussian\">"), 4);
  EXPECT_THAT(html, HasSubstr("Accuracy per instance index at N = 4"));
  EXPECT_EQ(count(html, "data-name=\"ideal (= N / smallest N)\""), 1);
  EXPECT_EQ(count(html, "<g class=\"legend\">"), 4 * 2 + 1);
  EXPECT_THAT(html, HasSubstr("Accuracy vs N"));
  EXPECT_THAT(html, HasSubstr("N (instances multiplexed)"));
  // Nothing fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

TEST(SweepReport, EmptyFolderIsAnInputError) {
  auto d = datamux::testing::sweep_scratch("empty");
  EXPECT_THROW(collect_results(d.string()), datamux::InputError);
  EXPECT_THROW(collect_results((d / "missing").string()), datamux::InputError);
}

TEST(SvgChart, DrawsAxesLabelsLegendAndEscapesText) {
  Chart c{"A <title>", "N", "accuracy", {{"a&b", {{1, 0.5, 0.1}, {2, 0.7, 0}}, false}}, true, std::nullopt, std::nullopt, true};
  std::string svg = svg_line_chart(c);
  EXPECT_THAT(svg, HasSubstr("A &lt;title&gt;"));
  EXPECT_THAT(svg, HasSubstr("data-name=\"a&amp;b\""));
  EXPECT_THAT(svg, HasSubstr("<polyline"));
  EXPECT_EQ(count(svg, "<circle"), 2);
  EXPECT_THAT(svg, HasSubstr(">accuracy</text>"));
}

TEST(SweepReport, TiesAndLoneGroupsAreNotMarkedBest) {
  Table t{{"a", {{1, {1.0, 0, 1}}, {2, {0.9, 0, 1}}}}, {"b", {{1, {1.0, 0, 1}}, {2, {0.8, 0, 1}}, {4, {0.5, 0, 1}}}}};
  auto best = best_per_n(t);
  EXPECT_FALSE(best.count(1)) << "every group ties at N=1";
  EXPECT_EQ(best.at(2), 0.9);
  EXPECT_FALSE(best.count(4)) << "only one group has N=4";
  EXPECT_EQ(best_per_n(t, false).at(2), 0.8);
}
