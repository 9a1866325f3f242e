// Broken on purpose: exports a function called datamux_plugin directly instead of through
// DATAMUX_PLUGIN; calling it as the alias would crash, so the registry must refuse it.
extern "C" __attribute__((visibility("default"))) int datamux_plugin() { return 7; }
