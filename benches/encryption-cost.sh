#!/usr/bin/env bash
# What sealed segments (encryption.*, docs/encryption.md) cost the file channel: `sluice bench`
# with encryption on and off in the same run, alternating (ABBA), `sync` and a pause before
# each run. A JCEKS keystore with one AES-256 key is made with keytool in a scratch folder.
#   N=4 DUR=3s benches/encryption-cost.sh [BIN]
# Prints each run, then per phase the medians' ratio on/off of events/s and of CPU per event.
set -euo pipefail
bin=$(realpath "${1:-target/release/sluice}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/keys"
keytool -genseckey -alias key-0 -keyalg AES -keysize 256 -storetype jceks \
  -keystore "$work/keys/ks.jceks" -storepass bench-pass -keypass bench-pass 2>/dev/null
printf 'bench-pass\n' >"$work/keys/pw"; chmod 600 "$work/keys/"*
enc=(--set encryption.activeKey=key-0 --set encryption.cipherProvider=AESCTRNOPADDING
     --set encryption.keyProvider=JCEKSFILE
     --set "encryption.keyProvider.keyStoreFile=$work/keys/ks.jceks"
     --set "encryption.keyProvider.keyStorePasswordFile=$work/keys/pw"
     --set encryption.keyProvider.keys=key-0)
dir=${DIR:-$work}
for phase in put mixed; do
  for r in $(seq 1 "${N:-4}"); do
    if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
    for mode in $order; do
      rm -rf "$dir/run"; sync; sleep 2
      extra=(); [ "$mode" = on ] && extra=("${enc[@]}")
      "$bin" bench --checkpoint-dir "$dir/run/c" --data-dirs "$dir/run/d" --phase "$phase" \
        --batch 100 --putters 4 --takers 4 --event-size 1024 --duration "${DUR:-3s}" \
        --json --quiet "${extra[@]}" 2>/dev/null |
        python3 -c "import json,sys; j=json.load(sys.stdin); print('$phase', '$mode', round(j['events_per_sec']), round(j['cpu_us_per_event'], 3))"
    done
  done
done | tee "$work/runs" | cat
python3 - "$work/runs" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
for phase in ("put", "mixed"):
    m = {mode: [(float(r[2]), float(r[3])) for r in rows if r[0] == phase and r[1] == mode] for mode in ("on", "off")}
    ev = {k: st.median(e for e, _ in v) for k, v in m.items()}
    cpu = {k: st.median(c for _, c in v) for k, v in m.items()}
    print(f"{phase}: events/s on {ev['on']:.0f} off {ev['off']:.0f} ratio {ev['on']/ev['off']:.3f}; "
          f"CPU µs/event on {cpu['on']:.3f} off {cpu['off']:.3f} ratio {cpu['on']/cpu['off']:.3f}")
PY
