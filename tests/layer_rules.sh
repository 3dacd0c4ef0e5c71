#!/usr/bin/env bash
# Each third-party library is seen by one layer only: ZeroMQ by transport/,
# msgpack by core/common/, FUSE by mount/, SQLite by core/meta/, OpenSSL by core/common/. (Includes of
# our own folders the wrong way are stopped by the build: see dfs_layers in
# CMakeLists.txt.)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
only_in() {
  local header=$1 folder=$2 hits
  hits=$(grep -rl --include='*.h' --include='*.cc' "#include <$header" base transport core mount cmd bench |
         grep -v "^$folder/")
  if [ -n "$hits" ]; then
    echo "layer rule broken: <$header...> is for $folder/ only, but is included by:" $hits
    status=1
  fi
}
only_in zmq transport
only_in msgpack core/common
only_in fuse mount
only_in sqlite3 core/meta
only_in openssl core/common
[ $status = 0 ] && echo "layer rules hold: zmq in transport/, msgpack in core/common/, fuse in mount/, sqlite in core/meta/, openssl in core/common/"
exit $status
