"""Fit the field-confidence calibration (extraction/calibration.py) on generated corpora.

    .venv/bin/python bench/calibrate.py --seeds 201,202 --n 4            # generate, run, fit, write
    .venv/bin/python bench/calibrate.py --dumps /tmp/f201.jsonl          # fit on existing raw dumps

Each corpus is processed by bench/fields.py with calibration off (SOHOA_CALIBRATE=false), so the
dump holds the parsers' raw scores; the fitted maps and the review threshold go to
extraction/calibration.json. Evaluate on a corpus of another seed with bench/fields.py: a fit is
only worth what it does on documents it has not seen.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extraction.calibration import DEFAULT_PATH, fit  # noqa: E402
from extraction.kinds import field_kind  # noqa: E402


def raw_dump(seed: int, n: int, levels: str, out: Path) -> None:
    env = os.environ | {"SOHOA_CALIBRATE": "false"}
    subprocess.run([sys.executable, str(Path(__file__).with_name("fields.py")), "--n", str(n), "--levels", levels,
                    "--seed", str(seed), "--dossiers", "3", "--no-addresses", "--dump", str(out)],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dumps", type=Path, nargs="*", default=[], help="raw dumps of bench/fields.py --dump")
    ap.add_argument("--seeds", default="", help="generate and process a corpus per seed")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--recall", type=float, default=0.95, help="review recall the threshold must reach")
    ap.add_argument("--types", help="fit on these doc types only (comma-separated)")
    ap.add_argument("--fitted-on", help="how the dumps were made, recorded in the calibration file")
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = ap.parse_args()
    dumps = list(args.dumps)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            dumps.append(Path(tmp) / f"raw-{seed}.jsonl")
            raw_dump(seed, args.n, args.levels, dumps[-1])
        records = [json.loads(x) for d in dumps for x in d.read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.types:
        records = [r for r in records if r["doc_type"] in args.types.split(",")]
    how = args.seeds and f"bench/calibrate.py --seeds {args.seeds} --n {args.n} --levels {args.levels}"
    cal = fit(records, args.recall, fitted_on=args.fitted_on or how or f"{len(dumps)} dumps, {len(records)} fields")
    args.out.write_text(cal.model_dump_json(indent=1) + "\n", encoding="utf-8")
    wrong = [r for r in records if not r["ok"]]
    right = [r for r in records if r["ok"]]

    def flagged(r: dict) -> bool:
        return r["confidence"] is None or cal.probability(r["field"], r["confidence"], r.get("got_type")) < cal.threshold

    print(f"{len(records)} fields ({len(wrong)} wrong) -> {args.out}; threshold {cal.threshold}")
    print(f"on the fitting data: review recall {sum(map(flagged, wrong)) / max(len(wrong), 1):.1%}, "
          f"right fields flagged {sum(map(flagged, right)) / max(len(right), 1):.1%}")
    for kind, curve in sorted(cal.curves.items()):
        print(f"  {kind:8} {curve.n:5} fields, {curve.wrong:4} wrong, {len(curve.x)} knots")
    kinds = sorted({field_kind(r["field"]) for r in records})
    print("kinds seen: " + ", ".join(kinds))


if __name__ == "__main__":
    main()
