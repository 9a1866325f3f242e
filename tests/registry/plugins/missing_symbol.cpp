// Broken on purpose: a shared library that exports something, but no datamux_plugin.
extern "C" __attribute__((visibility("default"))) int not_a_datamux_plugin() { return 7; }
