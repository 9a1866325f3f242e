#!/usr/bin/env bash
# Install test: installs a built datamux into a temporary prefix, builds the out-of-tree example
# plugins (examples/custom_plugin) against it with find_package(datamux), and checks that the
# installed `datamux` finds its built-in plugins next to itself, finds the example plugins through
# DATAMUX_PLUGIN_PATH, and runs them through the registry.
#
#   scripts/test_install.sh [BUILD_DIR]      (default: build; build it first)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
[[ -f "$build/CMakeCache.txt" ]] || { echo "test_install: $build is not a configured build folder" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/datamux-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
step() { printf '\n== %s\n' "$*"; }
fail() { echo "test_install: FAILED: $*" >&2; exit 1; }

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
datamux=$prefix/bin/datamux
[[ -x $datamux ]] || fail "no $datamux after install"
[[ -f $prefix/lib/cmake/datamux/datamuxConfig.cmake ]] || fail "no datamuxConfig.cmake installed"
"$datamux" --version

step "built-in plugins are found relative to the installed executable"
unset DATAMUX_PLUGIN_PATH
builtin_count=$(find "$build/lib/datamux/plugins" -name 'libdatamux-*.so' 2>/dev/null | wc -l)
listing=$("$datamux" plugins list)
echo "$listing"
if (( builtin_count > 0 )); then
  installed_count=$(grep -c "$prefix/lib/datamux/plugins/libdatamux-" <<<"$listing" || true)
  (( installed_count == builtin_count )) || fail "expected $builtin_count built-in plugins under $prefix, listed $installed_count"
  grep -q "$build" <<<"$listing" && fail "the installed datamux loaded plugins from the build tree"
fi

step "build examples/custom_plugin against the installed SDK"
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root/examples/custom_plugin" -B "$work/example" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_INSTALL_PREFIX="$work/example-prefix" \
  >"$work/example-configure.log" || { cat "$work/example-configure.log"; fail "configuring the example"; }
cmake --build "$work/example" -j2 || fail "building the example"

step "datamux plugins list shows the example plugins from DATAMUX_PLUGIN_PATH"
export DATAMUX_PLUGIN_PATH=$work/example/plugins
listing=$("$datamux" plugins list)
echo "$listing"
grep -Eq "^mux +instance_scale +1\.0\.0 +$work/example/plugins/libdatamux-instance_scale\.so" <<<"$listing" ||
  fail "instance_scale is not listed"
grep -Eq "^demux +instance_gain +1\.0\.0 +$work/example/plugins/libdatamux-instance_gain\.so" <<<"$listing" ||
  fail "instance_gain is not listed"
"$datamux" plugins info instance_scale

step "forward and backward through the registry"
"$datamux" plugins try instance_scale -N 4 --set normalize=sqrt
"$datamux" plugins try instance_gain -N 4 --set activation=tanh
"$work/example/check_custom_plugins"
ctest --test-dir "$work/example" --output-on-failure

step "the example mux trains in a pipeline run by the installed datamux"
cat >"$work/custom.toml" <<'TOML'
[task]
kind = "retrieval"
vocab = 64
length = 8
eval_examples = 128

[model]
instances = 2
hidden = 32

[mux]
plugin = "instance_scale"

[backbone]
plugin = "transformer"
layers = 1
heads = 2
ffn = 64

[demux]
plugin = "index"

[train]
steps = 20
batch = 8
retrieval_loss_coeff = 1.0
TOML
"$datamux" run "$work/custom.toml" --quiet --out "$work/custom-run"
grep -q '"mux": "instance_scale"' "$work/custom-run/results.json" || fail "the pipeline run left no results.json naming instance_scale"

step "a plugin copied into the installed plugin folder is found without DATAMUX_PLUGIN_PATH"
libdir=$(dirname "$(find "$prefix" -name 'libdatamux_registry.so' | head -n 1)")
mkdir -p "$libdir/datamux/plugins"
cp "$work/example/plugins/libdatamux-instance_scale.so" "$libdir/datamux/plugins/"
(unset DATAMUX_PLUGIN_PATH; "$datamux" plugins list) | tee "$work/builtin.txt"
grep -q "$libdir/datamux/plugins/libdatamux-instance_scale.so" "$work/builtin.txt" ||
  fail "the installed datamux does not search $libdir/datamux/plugins"
rm "$libdir/datamux/plugins/libdatamux-instance_scale.so"

step "the example's own install works from its prefix"
cmake --install "$work/example" >/dev/null
export DATAMUX_PLUGIN_PATH=$work/example-prefix/lib/datamux/plugins
"$datamux" plugins try instance_scale -N 3 | tail -n 1

step "bad input is refused with exit code 2"
set +e
"$datamux" plugins try instance_scale --set normalize=cube 2>"$work/err"
code=$?
set -e
(( code == 2 )) || fail "expected exit code 2, got $code"
grep -q 'normalize: "cube" is not one of "mean", "sqrt"' "$work/err" || fail "unexpected message: $(cat "$work/err")"

printf '\ntest_install: OK\n'
