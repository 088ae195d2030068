#!/usr/bin/env bash
# Records the peak resident memory (VmHWM) of every process on the machine
# while it runs, to find what uses the memory during a build or test run.
#   bash scripts/rss-watch.sh OUT.tsv [INTERVAL_SECS] &   # stop it: kill $!
# OUT.tsv gets one line per process seen, highest first: peak KiB, pid,
# command line (first 160 chars). VmHWM is the kernel's own high-water mark,
# so a peak between two samples is not missed as long as the process lives
# until the next sample (a 1 s interval sees anything that lives ~1 s).
set -u
out=${1:?usage: rss-watch.sh OUT.tsv [INTERVAL_SECS]}
interval=${2:-1}
declare -A peak cmd
flush() {
    for pid in "${!peak[@]}"; do
        printf '%s\t%s\t%s\n' "${peak[$pid]}" "$pid" "${cmd[$pid]}"
    done | sort -rn > "$out.part" && mv "$out.part" "$out"
}
trap 'flush; exit 0' TERM INT
n=0
while :; do
    # One awk for all processes: "pid hwm" for each that has a VmHWM.
    while read -r pid hwm; do
        if [ "${peak[$pid]:-0}" -lt "$hwm" ]; then
            peak[$pid]=$hwm
            cmd[$pid]=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)
        fi
    done < <(awk '/^VmHWM:/ { split(FILENAME, p, "/"); print p[3], $2; nextfile }' /proc/[0-9]*/status 2>/dev/null)
    n=$((n + 1))
    [ $((n % 10)) -eq 0 ] && flush
    sleep "$interval"
done
