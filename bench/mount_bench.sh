#!/usr/bin/env bash
# The mount section of scripts/bench: metadata, small files and random I/O
# through a dfs mount beside the same workloads on a local directory of the
# same disk, in the same run. Prints "label|local|mount" lines.
#   bench/mount_bench.sh MOUNTDIR LOCALDIR [FILES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mnt="$1"; local_dir="$2"; files="${3:-2000}"

meta() { python3 "$here/mount_workloads.py" "$1" "$files"; }
fio_iops() {  # DIR RW: 4 KiB random IOPS on a 256 MiB file, 15 s
  local dir="$1" rw="$2" extra=()
  [ "$rw" = randwrite ] && extra=(--fsync=32)
  fio --name=dfs --filename="$dir/fio-file" --size=256M --bs=4k --rw="$rw" --ioengine=psync \
      --runtime=15 --time_based --invalidate=1 "${extra[@]}" --output-format=json 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print("%.0f" % (j["read"]["iops"] + j["write"]["iops"]))'
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

declare -A L M
while read -r k v; do L[$k]=$v; done < <(meta "$local_dir")
while read -r k v; do M[$k]=$v; done < <(meta "$mnt")
if command -v fio >/dev/null; then
  # The read file is written whole first; caches dropped before each read run.
  for d in "$local_dir" "$mnt"; do head -c 256M /dev/zero | tr '\0' 'x' > "$d/fio-file"; done
  drop_caches; L[randread]=$(fio_iops "$local_dir" randread)
  drop_caches; M[randread]=$(fio_iops "$mnt" randread)
  L[randwrite]=$(fio_iops "$local_dir" randwrite)
  M[randwrite]=$(fio_iops "$mnt" randwrite)
  rm -f "$local_dir/fio-file" "$mnt/fio-file"
else
  L[randread]=no-fio; M[randread]=no-fio; L[randwrite]=no-fio; M[randwrite]=no-fio
fi
echo "create empty files, /s|${L[create]}|${M[create]}"
echo "stat (3 passes), /s|${L[stat]}|${M[stat]}"
echo "ls -l, entries/s|${L[ls]}|${M[ls]}"
echo "rename, /s|${L[rename]}|${M[rename]}"
echo "unlink, /s|${L[unlink]}|${M[unlink]}"
echo "1000 x 4 KiB, fsync each, files/s|${L[small]}|${M[small]}"
echo "the same by 4 writers at once, files/s|${L[small4]}|${M[small4]}"
echo "fio 4 KiB random write (fsync/32), IOPS|${L[randwrite]}|${M[randwrite]}"
echo "fio 4 KiB random read, cold, IOPS|${L[randread]}|${M[randread]}"
