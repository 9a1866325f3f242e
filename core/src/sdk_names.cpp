// Names of the SDK's small enums, as they appear in pipelines, messages and `datamux plugins`.
#include <datamux/context.hpp>
#include <datamux/options.hpp>
#include <datamux/plugin.hpp>

namespace datamux {

const char* plugin_kind_name(PluginKind k) {
  switch (k) {
    case PluginKind::Mux:
      return "mux";
    case PluginKind::Backbone:
      return "backbone";
    case PluginKind::Demux:
      return "demux";
    case PluginKind::Head:
      return "head";
  }
  return "unknown-kind";
}

const char* input_kind_name(InputKind k) {
  switch (k) {
    case InputKind::Sequence:
      return "sequence";
    case InputKind::Vector:
      return "vector";
    case InputKind::Image:
      return "image";
  }
  return "unknown-input";
}

const char* option_type_name(OptionType t) {
  switch (t) {
    case OptionType::Bool:
      return "bool";
    case OptionType::Int:
      return "int";
    case OptionType::Float:
      return "float";
    case OptionType::String:
      return "string";
    case OptionType::IntList:
      return "int list";
  }
  return "unknown-type";
}

}  // namespace datamux
