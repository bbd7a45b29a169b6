"""µs per message of the conduct matcher (docs/benchmarks.md, "Conduct matcher").

``python -m bench.guard`` measures the tree it is imported from; to measure another tree (main
before a change) put it first on the path: ``PYTHONPATH=/path/to/main python bench/guard.py``.
Only the public surface is used (``Catalog.load(...).guard()``, ``screen``, ``spot``,
``fold.cache_clear``), so both sides run the same code here. A few seconds.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import time
from collections.abc import Callable

import service
from service.templates import Catalog, PhraseGuard, fold

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "clean_corpus.txt"
LISTS = ("abuse", "complaint", "slow_reply", "stability")


def messages(locale: str, lo: int = 24, hi: int = 40) -> list[str]:
    """Ordinary sentences of about 30 characters from the clean corpus."""
    found, current = [], ""
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == locale and not line.startswith("#") and lo <= len(line) <= hi:
            found.append(line)
    return found


def per_message(work: Callable[[str, int], None], texts: list[str], rounds: int) -> float:
    """Best-of-5 µs of CPU per message (process time: a shared machine's other work and the
    time this process waits for a core are not counted)."""
    best = []
    for _ in range(5):
        start = time.process_time()
        for n in range(rounds):
            for text in texts:
                work(text, n)
        best.append((time.process_time() - start) / (rounds * len(texts)) * 1e6)
    return min(best)


def measure(guard: PhraseGuard, texts: list[str], rounds: int) -> dict[str, float]:
    # Clearing the fold's cache drops what was remembered with the folded text too.
    def screen_uncached(text: str, n: int) -> None:
        fold.cache_clear()
        guard.screen(text, "zh-CN")

    def screen_cached(text: str, n: int) -> None:
        guard.screen(text, "zh-CN")

    def every_list_uncached(text: str, n: int) -> None:
        fold.cache_clear()
        guard.screen(text, "zh-CN")
        for name in LISTS:
            guard.spot(text, name)

    return {
        "screen, uncached": per_message(screen_uncached, texts, rounds),
        "screen, cached": per_message(screen_cached, texts, rounds),
        "screen + 4 lists, uncached": per_message(every_list_uncached, texts, rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    phrases = pathlib.Path(service.__file__).resolve().parents[1]
    start = time.perf_counter()
    guard = Catalog.load(phrases / "phrases").guard()
    built = (time.perf_counter() - start) * 1e3
    print(f"catalogue + matcher built in {built:.1f} ms; load {os.getloadavg()[0]:.2f}")
    for locale in ("zh-CN", "en"):
        texts = messages(locale)
        size = statistics.mean(len(text) for text in texts)
        for label, value in measure(guard, texts, args.rounds).items():
            print(f"{locale:6} {len(texts)} msgs of ~{size:.0f} chars  {label:28} {value:6.1f} µs")


if __name__ == "__main__":
    main()
