"""How much of a set of real printed addresses the resolver maps to units, how fast, how robustly.

    .venv/bin/python bench/addresses.py                      # ../shared/data/cccd-addresses/addresses.tsv
    .venv/bin/python bench/addresses.py --show 20 --seed 7   # + 20 unresolved examples on stderr

Reports, for the package's parser alone, with the abbreviation expansion, and with the whole layer
(extraction/addresses.py): the share resolved to a province, a district, a ward and a 2025 ward,
and addresses per second (after a warm-up, so the package's one-time data load is excluded and
reported apart). Then robustness: the same strings with synthetic OCR noise (diacritics dropped
on 30 % of words, 1-2 OCR character confusions per string) - the share of the clean results at
each level that the noisy string still resolves to the same unit.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extraction.addresses import ResolvedAddress, _resolve  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "cccd-addresses" / "addresses.tsv"
MODES = {"package only": {"use_expand": False, "use_layer": False},
         "package + expansion": {"use_expand": True, "use_layer": False},
         "full resolver": {"use_expand": True, "use_layer": True}}
# Confusions OCR makes on Vietnamese print; both directions for the digit/letter pair.
CONFUSIONS = {"ư": "u", "ơ": "o", "đ": "d", "Đ": "D", "1": "l", "l": "1"}


def load(path: Path) -> list[str]:
    if not path.exists():
        sys.exit(f"{path} not found: the shared address set is needed (see shared/data/cccd-addresses/SOURCE.md)")
    with path.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t")]


def bare(word: str) -> str:
    """The word without diacritics, case kept (as a keyboard without Vietnamese input types it)."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def noisy(text: str, rng: random.Random) -> str:
    words = [bare(w) if rng.random() < 0.3 else w for w in text.split(" ")]
    chars = list(" ".join(words))
    spots = [i for i, c in enumerate(chars) if c in CONFUSIONS]
    for i in rng.sample(spots, min(len(spots), rng.randint(1, 2))):
        chars[i] = CONFUSIONS[chars[i]]
    return "".join(chars)


def shares(results: list[ResolvedAddress]) -> dict[str, float]:
    n = max(len(results), 1)
    return {"province": sum(r.province is not None for r in results) / n,
            "district": sum(r.district is not None for r in results) / n,
            "ward": sum(r.ward is not None for r in results) / n,
            "province_2025": sum(r.province_2025 is not None for r in results) / n,
            "ward_2025": sum(r.ward_2025 is not None for r in results) / n}


def kept(clean: list[ResolvedAddress], noise: list[ResolvedAddress], level: str) -> tuple[float, int]:
    code = f"{level}_code"
    pairs = [(c, x) for c, x in zip(clean, noise) if getattr(c, code)]
    same = sum(getattr(c, code) == getattr(x, code) for c, x in pairs)
    return same / max(len(pairs), 1), len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tsv", type=Path, default=DEFAULT)
    ap.add_argument("--show", type=int, default=0, help="print N addresses not resolved to a ward to stderr")
    ap.add_argument("--seed", type=int, default=1, help="seed of the synthetic noise and of --show")
    args = ap.parse_args()
    texts = load(args.tsv)

    t = time.perf_counter()
    _resolve("Phường 1, Quận 10, Thành phố Hồ Chí Minh")  # first call loads the package's data
    print(f"{len(texts)} addresses from {args.tsv}; first call (data load) {time.perf_counter() - t:.2f} s")
    print(f"{'':22} {'province':>9} {'district':>9} {'ward':>9} {'prov2025':>9} {'ward2025':>9} {'addr/s':>8}")
    results: dict[str, list[ResolvedAddress]] = {}
    for name, flags in MODES.items():
        results[name] = [_resolve(s, **flags) for s in texts]  # warms the package's regex cache
        t = time.perf_counter()
        results[name] = [_resolve(s, **flags) for s in texts]
        rate = len(texts) / (time.perf_counter() - t)
        s = shares(results[name])
        print(f"{name:22} " + " ".join(f"{100 * v:8.1f}%" for v in s.values()) + f" {rate:8.0f}")

    final = results["full resolver"]
    rng = random.Random(args.seed)
    garbled = [noisy(s, rng) for s in texts]
    print("OCR noise (30 % words without diacritics, 1-2 confusions ư>u ơ>o đ>d 1<>l per string):")
    print(f"{'same unit as clean':22} {'province':>9} {'district':>9} {'ward':>9}")
    for name, flags in MODES.items():
        noise = [_resolve(s, **flags) for s in garbled]
        same = [kept(results[name], noise, lv) for lv in ("province", "district", "ward")]
        print(f"{name:22} " + " ".join(f"{100 * v:8.1f}%" for v, _ in same)
              + f"   (of {', '.join(str(n) for _, n in same)} clean hits)")
    print(f"{'full resolver, noisy':22} " + " ".join(f"{100 * v:8.1f}%" for v in shares(noise).values())
          + "   (shares resolved, as above)")

    if args.show:
        misses = [s for s, r in zip(texts, final) if r.ward is None]
        for s in random.Random(args.seed).sample(misses, min(args.show, len(misses))):
            print(f"{_resolve(s).level:9} {s}", file=sys.stderr)


if __name__ == "__main__":
    main()
