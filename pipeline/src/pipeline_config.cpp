// Loading a pipeline TOML: base chains, --set overrides, schema validation, located messages.
#include <datamux/pipeline/pipeline_config.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <filesystem>
#include <set>
#include <sstream>

#include <datamux/data/utf8.hpp>

#include <datamux/pipeline/toml_input.hpp>

namespace datamux::runtime {
namespace fs = std::filesystem;
namespace {

// ---------------------------------------------------------------- schemas

const std::vector<OptionSpec>& task_schema() {
  static const std::vector<OptionSpec> s = {
      // The kinds are registered by the task library (tasks/<kind>/, DATAMUX_TASK), above this layer:
      // make_task checks the name, at this key's file:line:column (PipelineConfig::task_origin).
      opt_string("kind", "retrieval", "what to learn: a registered task kind (`datamux plugins list`: retrieval, "
                 "image_classification, text_classification, token_tagging, mlm, ...)"),
      opt_int("vocab", 1000, "retrieval: distinct tokens generated; text tasks: largest tokenizer vocabulary (0 = no limit)", 0, 1 << 20),
      opt_int("length", 16, "tokens per instance (text tasks truncate to it)", 1, 4096),
      opt_string("data_dir", "", "folder holding the data set; empty = the default location set up by scripts/setup.sh"),
      opt_string("train_file", "", "text/tagging tasks: a TSV/CSV or CoNLL file to train on instead of the packaged data set"),
      opt_string("test_file", "", "held-out file matching train_file (empty = split train_file)"),
      opt_string("text_column", "text", "TSV/CSV column holding the text"),
      opt_string("label_column", "label", "TSV/CSV column holding the label"),
      opt_int("min_count", 1, "tokenizer: words seen fewer times become [UNK]", 1),
      opt_bool("lowercase", true, "tokenizer: lower-case words"),
      opt_float("test_fraction", 0.2, "share held out for testing when the data set has no test split", 0.0, 0.9),
      opt_float("validation_fraction", 0.1, "share of the training split held out for validation", 0.0, 0.9),
      opt_int("train_examples", 0, "use at most this many training examples (0 = all)", 0),
      opt_int("eval_examples", 2048, "retrieval: held-out sequences generated for evaluation", 1, 1 << 20),
      opt_string("corpus", "brown", "mlm: the packaged text to mask when train_file is empty (laid out and tokenized "
                 "as token_tagging or text_classification on it)", {"brown", "spam_assassin"}),
      opt_int("mlm_train_examples", -1,
              "mlm: training examples to mask; -1 = train_examples (the fine-tuning task's), 0 = the whole "
              "training split; the tokenizer is still built from the first train_examples, so word ids match "
              "the fine-tuning task's",
              -1),
      opt_float("mask_probability", 0.15, "mlm: share of word positions selected for prediction (80% become "
                "[MASK], 10% a random word, 10% stay)", 0.01, 1.0),
  };
  return s;
}

const std::vector<OptionSpec>& model_schema() {
  static const std::vector<OptionSpec> s = {
      opt_int("instances", 2, "N: inputs multiplexed into one backbone pass", 1, 1024),
      opt_int("hidden", 128, "model width (embedding, backbone output, demux)", 1, 16384),
      opt_int("seed", 1, "seeds initialisation, data order and sampling", 0),
      opt_int("threads", 0, "OpenMP threads (0 = OMP_NUM_THREADS or all cores)", 0, 1024),
      opt_string("input", "flat", "image tasks: feed the backbone flat vectors or [C,H,W] images", {"flat", "image"}),
      opt_float("embedding_stddev", 0.02, "text tasks: init stddev of token and position embeddings", 0.0),
      opt_string("dtype", "f32",
                 "matmul inputs: bf16 rounds them to bfloat16 (f32 accumulation, f32 master weights) where the CPU "
                 "has AVX512-BF16 or AMX, and runs f32 with a log line elsewhere; convolutions stay f32",
                 {"f32", "bf16"}),
      opt_float("position_stddev", -1.0,
                "text tasks: init stddev of the position embeddings alone (-1 = embedding_stddev; an ablation "
                "knob, see docs/results.md, Large N)",
                -1.0),
      opt_float("linear_init_stddev", -1.0,
                "-1 = each plugin's own init; >= 0: the weights of every dense layer after the embedding (not "
                "the mux's) from N(0, s) and every bias 0, as the reference code initialises (s = 0.02); learns "
                "faster at large N (docs/results.md, Large N)",
                -1.0),
  };
  return s;
}

const std::vector<OptionSpec>& train_schema() {
  static const std::vector<OptionSpec> s = {
      opt_int("steps", 1000, "optimizer steps", 0, 1000000000),
      opt_int("batch", 32, "multiplexed rows per step (N*batch examples)", 1, 65536),
      opt_string("optimizer", "adamw", "optimizer", {"adamw", "sgd"}),
      opt_float("lr", 1e-3, "peak learning rate", 0.0),
      opt_float("weight_decay", 0.01, "decoupled (adamw) or L2 (sgd) weight decay", 0.0),
      opt_float("momentum", 0.9, "sgd momentum", 0.0, 1.0),
      opt_float("beta1", 0.9, "adamw beta1", 0.0, 1.0),
      opt_float("beta2", 0.999, "adamw beta2", 0.0, 1.0),
      opt_int("warmup_steps", 0, "linear warm-up steps", 0),
      opt_string("schedule", "linear", "decay after warm-up", {"constant", "linear", "cosine"}),
      opt_float("clip_norm", 1.0, "clip gradients to this global norm (0 = off)", 0.0),
      opt_float("task_loss_coeff", 1.0, "weight of the task loss", 0.0),
      opt_float("retrieval_loss_coeff", 0.0, "weight of the retrieval auxiliary loss (reconstruct each instance's tokens)", 0.0),
      opt_float("label_smoothing", 0.0, "task cross-entropy label smoothing", 0.0, 1.0),
      opt_int("eval_every", 0, "evaluate on the validation split every K steps (0 = only at the end)", 0),
      opt_int("log_every", 50, "a metrics.csv row every K steps, and a progress line when not on a terminal", 1),
      opt_int("checkpoint_every", 0,
              "save the resume state (resume.safetensors: weights, optimizer, step, random streams) every K steps, so "
              "a killed run continues with `datamux run --resume DIR` (0 = only when stopped by SIGINT/SIGTERM)",
              0),
      opt_string("init_from", "", "checkpoint (model.safetensors) to start from, e.g. a retrieval warm-up"),
      opt_bool("init_from_partial", false,
               "allow an init_from checkpoint that fills only part of the model (the log lists what was loaded and what not)"),
  };
  return s;
}

const std::vector<OptionSpec>& eval_schema() {
  static const std::vector<OptionSpec> s = {
      opt_int("batch", 0, "multiplexed rows per evaluation step (0 = train.batch)", 0, 65536),
      opt_string("split", "test", "which held-out split the final report uses", {"test", "validation"}),
      opt_int("throughput_steps", 20, "inference steps timed for the examples/s figure", 1, 10000),
  };
  return s;
}

const std::vector<OptionSpec>& output_schema() {
  static const std::vector<OptionSpec> s = {
      opt_string("dir", "runs/default", "where results.json, model.safetensors and pipeline.toml go"),
      opt_bool("save_checkpoint", true, "write model.safetensors"),
      opt_bool("keep_best", true, "with eval_every: keep the checkpoint with the best validation accuracy"),
  };
  return s;
}

}  // namespace

std::vector<std::pair<std::string, const std::vector<OptionSpec>*>> fixed_sections() {
  return {{"task", &task_schema()},   {"model", &model_schema()}, {"train", &train_schema()},
          {"eval", &eval_schema()},   {"output", &output_schema()}};
}

namespace {

using detail::loc;

const std::vector<std::string> kPluginSections = {"mux", "backbone", "demux", "head", "retrieval_head"};
// Plugin sections whose `plugin` has a default (the task's head; the retrieval head).
const std::vector<std::string> kOptionalPluginSections = {"head", "retrieval_head"};

// Keys that moved out of a fixed section: a pipeline still using one is told where it went.
struct MovedKey {
  const char* section;
  const char* key;
  const char* instead;
};
const MovedKey kMovedKeys[] = {
    {"train", "retrieval_all_instances",
     "it is the retrieval head's option now: `all_instances = true` under [head] for the retrieval task, "
     "under [retrieval_head] for the auxiliary retrieval loss of a labelled task"},
};
const std::vector<std::string> kTopLevelKeys = {"base", "plugin_paths"};

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (auto& [name, schema] : fixed_sections()) names.push_back(name);
  names.insert(names.end(), kPluginSections.begin(), kPluginSections.end());
  return names;
}

// Sets `key` to `value`, both keeping their source: insert_or_assign would keep the replaced entry's
// key (and so its file and line), and a copied node drops its source; messages need the new ones.
void replace(toml::table& t, const toml::key& key, toml::node&& value) {
  t.erase(key.str());
  t.insert(toml::key(key), std::move(value));
}

// Deep merge: keys of `over` replace those of `base`; tables merge recursively.
void merge_into(toml::table& base, toml::table& over) {
  for (auto&& [k, v] : over) {
    if (auto* sub = v.as_table(); sub && base.contains(k) && base[k].is_table()) {
      merge_into(*base[k].as_table(), *sub);
    } else {
      replace(base, k, std::move(v));
    }
  }
}

toml::table load_with_bases(const std::string& path, std::set<std::string>& chain) {
  const std::string canon = fs::weakly_canonical(path).string();
  if (!chain.insert(canon).second) throw InputError(fmt::format("{}: `base` chain includes this file twice", path));
  toml::table t = detail::read_toml_file(path, chain.size() == 1 ? "pipeline" : "pipeline base file");
  if (auto b = t["base"]) {
    auto s = b.value<std::string>();
    if (!s) throw InputError(fmt::format("{}: `base` must be a string path", loc(b.node()->source(), path)));
    fs::path bp = fs::path(path).parent_path() / *s;
    toml::table merged = load_with_bases(bp.string(), chain);
    t.erase("base");
    merge_into(merged, t);
    return merged;
  }
  return t;
}

// `--set section.key=value`, read as TOML (see detail::parse_assignment). Every key it sets must land
// somewhere that is read: a known section (unknown keys in it are then reported by validation, at
// this argument) or `plugin_paths`; anything else is an error rather than silently ignored.
void apply_override(toml::table& root, const std::string& arg) {
  toml::table parsed = detail::parse_assignment(arg, "--set");
  const std::string where = "--set " + arg;
  const std::vector<std::string> sections = section_names();
  for (auto&& [k, v] : parsed) {
    const std::string name(k.str());
    if (name == "plugin_paths") {
      replace(root, k, std::move(v));
      continue;
    }
    if (name == "base")
      throw InputError(fmt::format("{}: `base` is resolved before --set applies; set it in the pipeline file", where));
    auto* keys = v.as_table();
    if (!keys) throw InputError(fmt::format("{}: expected section.key=value, e.g. --set model.instances=4", where));
    if (std::find(sections.begin(), sections.end(), name) == sections.end()) {
      const std::string hint = did_you_mean(name, sections);
      throw InputError(fmt::format("{}: no section '{}'{} (sections: {})", where, clip_for_message(name),
                                   hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint),
                                   fmt::join(sections, ", ")));
    }
    // `section={...}` (an inline table) replaces the whole section, so switching plugins does not keep
    // the old plugin's options; `section.key=value` changes one key.
    if (keys->is_inline()) {
      replace(root, k, std::move(v));
      continue;
    }
    if (!root.contains(name)) root.insert(name, toml::table{});
    auto* sec = root[name].as_table();
    if (!sec) throw InputError(fmt::format("{}: '{}' is not a section in the pipeline", where, name));
    for (auto&& [key, value] : *keys) replace(*sec, key, std::move(value));
  }
}

const toml::table* section_table(const toml::table& root, const std::string& section, const std::string& path) {
  const toml::table* t = root[section].as_table();
  if (root.contains(section) && !t)
    throw InputError(fmt::format("{}: [{}] must be a table", loc(root[section].node()->source(), path), section));
  return t;
}

Options validated(const toml::table& root, const std::string& section, const std::vector<OptionSpec>& schema,
                  const std::string& path) {
  const toml::table* t = section_table(root, section, path);
  if (!t) return validate_options(schema, Options(), "[" + section + "]");
  return validate_located(schema, detail::table_options(*t, section, path), "[" + section + "]");
}

// "file:line:column: " of [section] key, or "" when the key was not given (its default is used).
std::string key_origin(const toml::table& root, const std::string& section, const std::string& key,
                       const std::string& path) {
  const toml::node* n = root[section][key].node();
  return n ? loc(n->source(), path) + ": " : std::string();
}

// What the schema's inclusive ranges cannot say and the optimizer would refuse at its first step:
// AdamW's betas must stay below 1 (it divides by 1 - beta^t), also after rounding to the f32 the
// optimizer keeps (0.99999999 becomes 1.0f), and every rate must be a finite f32.
void check_train_values(const toml::table& root, const Options& train, const std::string& path) {
  for (const char* key : {"beta1", "beta2"}) {
    const double v = train.get_float(key);
    if (static_cast<float>(v) >= 1.0f)
      throw InputError(fmt::format("{}[train] {} = {}: must be below 1 (AdamW divides by 1 - {}^step); typical "
                                   "values are 0.9 and 0.999",
                                   key_origin(root, "train", key, path), key, v, key));
  }
  for (const char* key : {"lr", "weight_decay", "momentum", "clip_norm", "task_loss_coeff", "retrieval_loss_coeff"}) {
    const double v = train.get_float(key);
    if (!std::isfinite(static_cast<float>(v)))
      throw InputError(fmt::format("{}[train] {} = {}: too large for the 32-bit floats training uses (at most {:g})",
                                   key_origin(root, "train", key, path), key, v, std::numeric_limits<float>::max()));
  }
}

PluginSection plugin_section(const toml::table& root, const std::string& section, const std::string& path) {
  PluginSection p;
  p.where = "[" + section + "]";
  const toml::table* t = section_table(root, section, path);
  if (!t) return p;
  p.where = fmt::format("[{}] ({})", section, loc(t->source(), path));
  p.present = true;
  const bool optional = std::find(kOptionalPluginSections.begin(), kOptionalPluginSections.end(), section) !=
                        kOptionalPluginSections.end();
  const toml::node* plugin = t->get("plugin");
  auto name = (*t)["plugin"].value<std::string>();
  if (plugin && !name)
    throw InputError(fmt::format("{}: [{}] plugin must be a string, e.g. plugin = \"name\" (see `datamux plugins list`)",
                                 loc(plugin->source(), path), section));
  if (!name && !optional)
    throw InputError(fmt::format("{}: [{}] needs plugin = \"name\" (see `datamux plugins list`)", loc(t->source(), path), section));
  if (name) p.plugin = *name;
  LocatedOptions o = detail::table_options(*t, section, path, "plugin");
  p.options = std::move(o.values);
  p.origin = std::move(o.origin);
  return p;
}

// Unknown sections (with a suggestion) and keys that have moved to another section.
void refuse_unknown_and_moved(const toml::table& root, const std::string& path) {
  std::vector<std::string> known = section_names();
  known.insert(known.end(), kTopLevelKeys.begin(), kTopLevelKeys.end());
  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string hint = did_you_mean(key, known);
    throw InputError(fmt::format("{}: unknown section '{}'{}", loc(v.source(), path), clip_for_message(key),
                                 hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
  }
  for (const MovedKey& m : kMovedKeys)
    if (const toml::table* t = root[m.section].as_table())
      if (const toml::node* n = t->get(m.key))
        throw InputError(fmt::format("{}: [{}] {} has moved: {}", loc(n->source(), path), m.section, m.key, m.instead));
}

// plugin_paths, each resolved against the pipeline's folder and required to be a folder.
std::vector<std::string> plugin_paths(const toml::table& root, const std::string& path) {
  std::vector<std::string> out;
  auto pp = root["plugin_paths"];
  if (!pp) return out;
  auto* arr = pp.as_array();
  if (!arr) throw InputError(fmt::format("{}: plugin_paths must be an array of strings", loc(pp.node()->source(), path)));
  for (auto&& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) throw InputError(fmt::format("{}: plugin_paths must be an array of strings", loc(e.source(), path)));
    fs::path p(*s);
    const std::string dir = p.is_absolute() ? p.string() : (fs::path(path).parent_path() / p).string();
    // A folder that is not there would be searched silently, and the plugins expected from it missed.
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw InputError(fmt::format("{}: plugin_paths entry \"{}\": {} is {}", loc(e.source(), path), *s, dir,
                                   fs::exists(dir, ec) ? "not a folder" : "not there (no such folder)"));
    out.push_back(dir);
  }
  return out;
}

}  // namespace

PipelineConfig load_pipeline(const std::string& path, const std::vector<std::string>& overrides) {
  // The path is written into results.json and checkpoints (JSON, UTF-8 only): refuse it up front rather
  // than fail when the results are written, after the whole run.
  if (const std::size_t bad = data::first_invalid_utf8(path); bad != std::string::npos)
    throw InputError(fmt::format("pipeline path '{}': byte {} (0x{:02X}) is not valid UTF-8; rename the file or its "
                                 "folder to UTF-8",
                                 data::repair_utf8(path), bad, static_cast<unsigned char>(path[bad])));
  std::set<std::string> chain;
  toml::table root = load_with_bases(path, chain);
  for (const auto& o : overrides) apply_override(root, o);

  refuse_unknown_and_moved(root, path);

  PipelineConfig c;
  c.path = path;
  c.task = validated(root, "task", task_schema(), path);
  if (const toml::table* t = root["task"].as_table()) c.task_origin = detail::table_options(*t, "task", path).origin;
  c.model = validated(root, "model", model_schema(), path);
  c.train = validated(root, "train", train_schema(), path);
  check_train_values(root, c.train, path);
  c.eval = validated(root, "eval", eval_schema(), path);
  c.output = validated(root, "output", output_schema(), path);
  c.mux = plugin_section(root, "mux", path);
  c.backbone = plugin_section(root, "backbone", path);
  c.demux = plugin_section(root, "demux", path);
  c.head = plugin_section(root, "head", path);
  c.retrieval_head = plugin_section(root, "retrieval_head", path);
  c.plugin_paths = plugin_paths(root, path);
  std::ostringstream ss;
  ss << toml::toml_formatter(root, toml::toml_formatter::default_flags & ~toml::format_flags::allow_literal_strings);
  c.resolved_toml = ss.str();
  return c;
}

}  // namespace datamux::runtime
