#!/usr/bin/env bash
# Installs ONNX Runtime's official Linux x64 library and C/C++ headers from the
# npm registry (package com.github.asus4.onnxruntime, which carries both; Debian
# does not package ONNX Runtime) into a git-ignored directory, by default
# .deps/onnxruntime/{include,lib}. Idempotent: does nothing when the wanted
# version is already there.
set -euo pipefail

package=com.github.asus4.onnxruntime
package_version=${POLYINFER_ORT_NPM_VERSION:-0.4.9}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/.deps/onnxruntime}
stamp="$dest/.installed-$package-$package_version"

if [[ -f "$stamp" ]]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "onnxruntime: fetching $package@$package_version from the npm registry"
# npm keeps its own cache, so a second fetch of the same version is local.
(cd "$work" && npm pack --silent "$package@$package_version" >/dev/null 2>"$work/npm.log") || {
  cat "$work/npm.log" >&2
  echo "onnxruntime: npm pack $package@$package_version failed" >&2
  exit 1
}
tarball=$(ls "$work"/*.tgz)
headers='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
libs='package/Plugins/Linux/x64'
tar -xzf "$tarball" -C "$work" "$headers" "$libs"

rm -rf "$dest.new"
mkdir -p "$dest.new/include" "$dest.new/lib"
# The headers are platform-independent; the package ships them inside its
# Apple framework only.
cp "$work/$headers"/*.h "$dest.new/include/"
cp "$work/$libs"/libonnxruntime.so "$work/$libs"/libonnxruntime_providers_shared.so "$dest.new/lib/"
# The library's SONAME is libonnxruntime.so.1: give the loader that name too.
ln -s libonnxruntime.so "$dest.new/lib/libonnxruntime.so.1"
cp "$work/package/LICENSE" "$work/package/ThirdPartyNotices.txt" "$dest.new/" 2>/dev/null || true
touch "$dest.new/.installed-$package-$package_version"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "onnxruntime: installed into $dest"
