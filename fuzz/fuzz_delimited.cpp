// libFuzzer target: the TSV/CSV reader (data/src/delimited.cpp). The first byte picks the
// options (CSV or TSV, quoting, header, which columns), the rest is the file.
#include <datamux/error.hpp>
#include <datamux/data/text.hpp>

#include "fuzz_input_file.hpp"
#include "utf8_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string& path = datamux::fuzz::write_input(data + 1, size - 1, (flags & 1) ? ".csv" : ".tsv");
  datamux::data::DelimitedOptions o;
  o.quoting = flags & 2;
  o.header = flags & 4;
  if (!o.header) {
    o.text_column = (flags & 8) ? "1" : "0";
    o.label_column = (flags & 8) ? "0" : "1";
  } else if (flags & 8) {
    o.text_pair_column = "pair";
  }
  try {
    datamux::data::TextDataset d = datamux::data::read_delimited(path, o);
    if (d.labels.size() != d.texts.size()) __builtin_trap();
    // Readers promise valid UTF-8 (texts repaired, labels checked): what a checkpoint's JSON needs.
    for (const auto& t : d.texts) datamux::fuzz::require_utf8(t);
    for (const auto& l : d.labels) datamux::fuzz::require_utf8(l);
  } catch (const datamux::InputError&) {
  }
  return 0;
}
