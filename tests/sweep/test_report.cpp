// `datamux report`'s files from a folder of runs with known figures: rows, aggregates, tables, charts.
#include <datamux/error.hpp>
#include <datamux/sweep/report.hpp>
#include <datamux/sweep/svg_chart.hpp>
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
  // The training curve as the trainer writes it: train rows every 5 steps, a validation row at 10, and a
  // last row cut short (a run killed mid-write), which the report must skip.
  std::ofstream curve(dir / name / "metrics.csv");
  curve << "step,split,loss,accuracy,lr,examples_per_s,elapsed_s,min_instance_accuracy";
  for (int i = 0; i < n; ++i) curve << ",instance_" << i;
  curve << "\n5,train," << 2.0 + seed << ",0.5,0.001,100,0.5,,\n10,train," << 1.0 + seed << ",0.6,0.001,100,1.0,,\n"
        << "10,validation,0.9," << acc << ",,,1.2,,\n15,tra";
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
  // 4 line charts, the heatmap, and per group (2) a loss and an accuracy curve chart.
  EXPECT_EQ(count(html, "<svg"), 4 + 1 + 2 * 2);
  EXPECT_EQ(count(html, "</svg>"), 4 + 1 + 2 * 2);
  EXPECT_EQ(count(html, "class=\"heatmap\""), 1);
  // accuracy, multiplier (+ the ideal line), per-index, trade-off: 2 groups each.
  EXPECT_EQ(count(html, "<g class=\"series\" data-name=\"mux=gaussian\">"), 4);
  EXPECT_THAT(html, HasSubstr("Accuracy per instance index at N = 4"));
  EXPECT_EQ(count(html, "data-name=\"ideal (= N / smallest N)\""), 1);
  // 4 charts x 2 groups + the ideal line; 4 curve charts x 2 values of N.
  EXPECT_EQ(count(html, "<g class=\"legend\">"), 4 * 2 + 1 + 4 * 2);
  EXPECT_THAT(html, HasSubstr("Accuracy vs N"));
  EXPECT_THAT(html, HasSubstr("N (instances multiplexed)"));
  // Nothing fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

TEST(SweepReport, HeatmapHasOneCellPerRunAndInstanceIndex) {
  auto r = collect_results(fake_sweep("heatmap").string());
  auto html = report_html(r);
  auto begin = html.find("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\"");
  ASSERT_NE(begin, std::string::npos);
  std::string heatmap = html.substr(begin, html.find("</svg>", begin) - begin);
  int expected = 0;
  for (const auto& rec : r.runs) expected += static_cast<int>(rec.instances);
  EXPECT_EQ(expected, 4 * 1 + 4 * 4);
  EXPECT_EQ(count(heatmap, "<rect class=\"cell\""), expected);
  // A row per run (its name as tooltip), a cell's tooltip names run, index and value.
  for (const auto& rec : r.runs) EXPECT_EQ(count(heatmap, "<title>" + rec.name + "</title>"), 1) << rec.name;
  EXPECT_THAT(heatmap, HasSubstr("<title>instances=4,mux=hadamard,seed=2 | instance index 3: 0.6700</title>"));
  // Darker for higher accuracy: 1.0 is the darkest blue, 0 white.
  Heatmap h{"t", "i", "acc", {"a"}, {"0", "1"}, {{0, 0, 1.0}, {0, 1, 0.0}}};
  auto svg = svg_heatmap(h);
  EXPECT_THAT(svg, HasSubstr("fill=\"#08306b\" stroke=\"white\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"#ffffff\" stroke=\"white\""));
}

TEST(SweepReport, TrainingCurvesAverageRunsPerGroupAndX) {
  auto r = collect_results(fake_sweep("curves").string());
  ASSERT_EQ(r.runs.front().curve.size(), 3u) << "the cut-short last row is skipped";
  auto loss = curves(r, "loss");
  // Seeds 1 and 2: train loss 3 and 4 at step 5, 2 and 3 at step 10.
  EXPECT_EQ(loss["mux=gaussian"][4].size(), 2u);
  EXPECT_NEAR(loss["mux=gaussian"][4][5], 3.5, 1e-12);
  EXPECT_NEAR(loss["mux=gaussian"][4][10], 2.5, 1e-12);
  // Accuracy comes from the validation rows when there are any.
  auto acc = curves(r, "accuracy");
  ASSERT_EQ(acc["mux=hadamard"][4].size(), 1u);
  EXPECT_NEAR(acc["mux=hadamard"][4][10], 0.70, 1e-12);
  auto html = report_html(r);
  EXPECT_THAT(html, HasSubstr("Training loss by step: mux=gaussian"));
  EXPECT_THAT(html, HasSubstr("Validation accuracy by step: mux=hadamard"));
}

TEST(SweepReport, ChosenAxesAreHonoured) {
  auto d = fake_sweep("axes");
  ReportOptions o;
  o.x = "mux";            // short name of mux.plugin: a categorical x
  o.y = "loss";
  o.group = "instances";  // short name of model.instances
  auto r = collect_results(d.string(), o);
  EXPECT_EQ(r.x_key, "mux.plugin");
  EXPECT_EQ(r.x_categories, (std::vector<std::string>{"gaussian", "hadamard"}));
  EXPECT_EQ(r.group_keys, std::vector<std::string>{"model.instances"});
  auto loss = aggregate(r, "loss");
  ASSERT_EQ(loss.size(), 2u);
  EXPECT_NEAR(loss["instances=4"][1].mean, 0.30, 1e-12);  // hadamard (x = 1) at N = 4: 1 - 0.70
  EXPECT_NEAR(loss["instances=1"][0].mean, 0.07, 1e-12);  // gaussian at N = 1: 1 - 0.93
  auto md = report_markdown(r);
  EXPECT_THAT(md, HasSubstr("## Loss (held-out)\n\n| model.instances | mux=gaussian | mux=hadamard |"));
  EXPECT_LT(md.find("## Loss"), md.find("## Accuracy")) << "the chosen metric comes first";
  // Lower loss is better: the lowest per column (per mux) is marked, here N = 1's.
  EXPECT_THAT(md, HasSubstr("| instances=1 | **0.0700 ± 0.0141** | **0.0500 ± 0.0000** |"));
  EXPECT_THAT(md, HasSubstr("| instances=4 | 0.2000 ± 0.0000 | 0.3000 ± 0.0000 |"));
  auto html = report_html(r);
  EXPECT_THAT(html, HasSubstr("Loss vs mux"));
  EXPECT_THAT(html, HasSubstr(">gaussian</text>"));  // categorical ticks
  EXPECT_EQ(count(html, "<g class=\"series\" data-name=\"instances=4\">"), 4);

  // No grouping at all: one line, every run at an x averaged.
  o = {};
  o.group = "none";
  o.y = "throughput_multiplier";
  r = collect_results(d.string(), o);
  EXPECT_TRUE(r.group_keys.empty());
  auto mult = aggregate(r, "throughput_multiplier");
  ASSERT_EQ(mult.size(), 1u);
  EXPECT_NEAR(mult["all runs"][4].mean, 2.5, 1e-12);  // (3000 + 2000) / 2 over 1000
  EXPECT_THAT(report_html(r), HasSubstr("Inference throughput multiplier vs N"));
}

TEST(SweepReport, UnknownAxesAndMetricsAreInputErrorsListingTheChoices) {
  auto d = fake_sweep("bad-axes").string();
  auto message = [&](ReportOptions o) {
    try {
      collect_results(d, o);
    } catch (const datamux::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({"heads", "", ""}), HasSubstr("--x heads: not a swept key"));
  EXPECT_THAT(message({"heads", "", ""}), HasSubstr("model.instances (instances), mux.plugin (mux), model.seed (seed)"));
  EXPECT_THAT(message({"", "acc", ""}), HasSubstr("--y acc: not a metric"));
  EXPECT_THAT(message({"", "acc", ""}), HasSubstr("accuracy"));
  EXPECT_THAT(message({"", "acc", ""}), HasSubstr("min_instance_accuracy"));
  EXPECT_THAT(message({"", "acc", ""}), HasSubstr("throughput_multiplier"));
  EXPECT_THAT(message({"", "", "mux,demux"}), HasSubstr("demux is not a swept key"));
  EXPECT_THAT(message({"", "", "instances"}), HasSubstr("already the x axis"));
}

TEST(SweepReport, EveryChartCanBeWrittenAsAStandaloneSvgFile) {
  auto d = fake_sweep("svg");
  auto r = collect_results(d.string());
  auto paths = write_charts(r, (d / "charts").string());
  // 4 line charts, the heatmap, 2 groups x (loss, accuracy) curves; page order, unique names.
  std::vector<std::string> names;
  for (const auto& p : paths) names.push_back(fs::path(p).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"accuracy_vs_n.svg", "throughput_multiplier_vs_n.svg", "accuracy_per_index.svg",
                                             "accuracy_vs_throughput.svg", "accuracy_per_index_heatmap.svg",
                                             "curve_loss_mux_gaussian.svg", "curve_accuracy_mux_gaussian.svg",
                                             "curve_loss_mux_hadamard.svg", "curve_accuracy_mux_hadamard.svg"}));
  for (const auto& p : paths) {
    auto svg = datamux::testing::read_text(p);
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << p;
    EXPECT_EQ(count(svg, "</svg>"), 1) << p;
  }
  std::ofstream(d / "a-file") << "x";
  EXPECT_THROW(write_charts(r, (d / "a-file").string()), datamux::InputError);
}

TEST(SweepReport, EmptyFolderIsAnInputError) {
  auto d = datamux::testing::sweep_scratch("empty");
  EXPECT_THROW(collect_results(d.string()), datamux::InputError);
  EXPECT_THROW(collect_results((d / "missing").string()), datamux::InputError);
}

TEST(SvgChart, DrawsAxesLabelsLegendAndEscapesText) {
  Chart c{"A <title>", "N", "accuracy", {{"a&b", {{1, 0.5, 0.1}, {2, 0.7, 0}}, false}}, true, std::nullopt, std::nullopt, true, {}, 820, 400};
  std::string svg = svg_line_chart(c);
  EXPECT_THAT(svg, HasSubstr("A &lt;title&gt;"));
  EXPECT_THAT(svg, HasSubstr("data-name=\"a&amp;b\""));
  EXPECT_THAT(svg, HasSubstr("<polyline"));
  EXPECT_EQ(count(svg, "<circle"), 2);
  EXPECT_THAT(svg, HasSubstr(">accuracy</text>"));
  // Long names keep both ends (a run name's end tells rows apart).
  EXPECT_EQ(shorten_middle("mux=contextual,instances=16", 20), "mux=cont...tances=16");
  EXPECT_EQ(shorten_middle("short", 20), "short");
}

TEST(SweepReport, GroupsAreInNaturalOrder) {
  NaturalLess less;
  EXPECT_TRUE(less("instances=4", "instances=12"));
  EXPECT_FALSE(less("instances=12", "instances=4"));
  EXPECT_TRUE(less("layers=1,hidden=32", "layers=2,hidden=16"));
  EXPECT_TRUE(less("heads=2,x", "heads=2,y"));
  EXPECT_TRUE(less("a", "ab"));
  EXPECT_FALSE(less("a1", "a1"));
  EXPECT_TRUE(less("norm=1.5", "norm=20.0"));
  Table t{{"instances=12", {}}, {"instances=4", {}}, {"instances=1", {}}};
  std::vector<std::string> order;
  for (const auto& [g, row] : t) order.push_back(g);
  EXPECT_EQ(order, (std::vector<std::string>{"instances=1", "instances=4", "instances=12"}));
}

TEST(SweepReport, TiesAndLoneGroupsAreNotMarkedBest) {
  Table t{{"a", {{1, {1.0, 0, 1}}, {2, {0.9, 0, 1}}}}, {"b", {{1, {1.0, 0, 1}}, {2, {0.8, 0, 1}}, {4, {0.5, 0, 1}}}}};
  auto best = best_per_n(t);
  EXPECT_FALSE(best.count(1)) << "every group ties at N=1";
  EXPECT_EQ(best.at(2), 0.9);
  EXPECT_FALSE(best.count(4)) << "only one group has N=4";
  EXPECT_EQ(best_per_n(t, false).at(2), 0.8);
}
