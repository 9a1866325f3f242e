// datamux/pipeline/pipeline_config.hpp - a pipeline TOML file, resolved and validated.
//
// Sections: [task] [model] [mux] [backbone] [demux] [head] [retrieval_head] [train] [eval] [output]. The fixed sections
// have schemas (the same OptionSpec tables plugins use, so messages and docs look alike); plugin
// sections hold `plugin = "name"` and that plugin's options, validated against the plugin's own schema
// when the model is built. [head] and [retrieval_head] may leave `plugin` out: [head] then uses the
// task's default head (Task::default_head), [retrieval_head] (the auxiliary retrieval loss of a labelled
// text task) the `retrieval` head. `base = "other.toml"` extends another pipeline (this file's keys win);
// `--set section.key=value` overrides any key (parsed as TOML, see located_options.hpp). Every error
// names file:line:column (or the --set argument) and the key.
#pragma once

#include <datamux/options.hpp>
#include <datamux/pipeline/located_options.hpp>

#include <map>
#include <string>
#include <vector>

namespace datamux::runtime {

/// One plugin section: its plugin name, its options as given, and where it came from.
struct PluginSection {
  std::string plugin;      // empty when the section is absent or leaves the plugin to a default
  bool present = false;    // the pipeline has this section
  Options options;         // everything but `plugin`, unvalidated (the plugin's schema decides)
  std::string where;       // "[mux] (retrieval.toml:12:1)" for messages
  std::map<std::string, std::string> origin;  // key (and "plugin") -> "file:line:column" or "--set ..."
  LocatedOptions located() const { return {options, origin}; }
};

struct PipelineConfig {
  std::string path;                 // the file given on the command line
  Options task, model, train, eval, output;  // validated against their schemas, defaults filled in
  std::map<std::string, std::string> task_origin;  // [task] key -> "file:line:column" or "--set ...", for messages
  PluginSection mux, backbone, demux, head;
  PluginSection retrieval_head;     // the auxiliary retrieval loss's head ([train] retrieval_loss_coeff > 0)
  std::vector<std::string> plugin_paths;
  std::string resolved_toml;        // the whole resolved pipeline, saved next to the results
};

/// Parses `path`, applies `base` chains and `overrides` ("section.key=value", each read as a TOML
/// `key = value`; a single unquoted word is a string), validates the fixed sections. Throws InputError
/// with file:line:column (or the --set argument) for malformed TOML, bad values, and unknown sections
/// or keys (with a suggestion); an override that names no section is an error too.
PipelineConfig load_pipeline(const std::string& path, const std::vector<std::string>& overrides = {});

/// Schemas of the fixed sections (section name -> schema, in file order), for validation and for
/// docs/pipelines.md.
std::vector<std::pair<std::string, const std::vector<OptionSpec>*>> fixed_sections();

}  // namespace datamux::runtime
