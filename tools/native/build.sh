#!/usr/bin/env bash
# Builds the int8 matmul kernel (model-loader/src/main/c/idefics3_int8_matmul.c) into the
# library the model-loader jar carries, and records the SHA-256 of the source it was built from
# beside it (Int8KernelTest fails when the two differ: rebuild after changing the source).
#
#   bash tools/native/build.sh          # needs gcc (12 here) and TensorFlow Java's native jar in
#                                        # the local Maven repository (any mvn build fetches it)
#
# The library links against TensorFlow Java's libtensorflow_framework.so.2 by its soname, which
# the JVM has already loaded when Int8Kernel.load asks TensorFlow to load the library.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source_file=$root/model-loader/src/main/c/idefics3_int8_matmul.c
out_dir=$root/model-loader/src/main/resources/io/github/idefics3spark/tf/linux-x86_64
library=$out_dir/libidefics3_int8_matmul.so
version=$(sed -n 's|.*<tensorflow.version>\(.*\)</tensorflow.version>.*|\1|p' "$root/pom.xml")
repository=${MAVEN_REPOSITORY:-$HOME/.m2/repository}
native_jar=$repository/org/tensorflow/tensorflow-core-native/$version/tensorflow-core-native-$version-linux-x86_64.jar
if [ ! -f "$native_jar" ]; then
  echo "missing $native_jar: run mvn -B install -DskipTests once to fetch it" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unzip -q -j "$native_jar" 'org/tensorflow/internal/c_api/linux-x86_64/libtensorflow_framework.so.2' -d "$work"
mkdir -p "$out_dir"
gcc -O3 -std=gnu11 -fPIC -shared -s -Wall -Wextra -Werror \
  -o "$library" "$source_file" -L"$work" -l:libtensorflow_framework.so.2
sha256sum "$source_file" | cut -d' ' -f1 > "$library.source-sha256"
echo "built $library ($(stat -c %s "$library") bytes) from $(cat "$library.source-sha256")"
