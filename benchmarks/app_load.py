"""Load test of the demo: concurrent ``gradio_client`` users, latency per tab.

Launches the app in this process (the bundled embedded models unless ``BGTAI_*_MODEL`` name
others), then ``--users`` clients each make ``--requests`` requests, cycling through the tabs'
main endpoints from a different starting tab, all at once::

    python -m benchmarks.app_load [--users 20] [--requests 5] [--json OUT] [--markdown OUT]

Every request must succeed (the exit status is 1 otherwise). Latency is measured at the client,
so it includes queueing behind the app's concurrency limit: that is what a visitor waits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from gradio_client import Client, handle_file  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


def requests() -> list[tuple[str, str, tuple]]:
    """``(tab, endpoint, arguments)`` of one request per tab's main action."""
    sound = handle_file(str(EXAMPLES / "sound_whistle.wav"))
    speech = handle_file(str(EXAMPLES / "speech_0.wav"))
    return [
        ("Language -> Gloss (text)", "/gloss_text", ("The children are playing in the garden.", 1)),
        ("Language -> Gloss (speech)", "/gloss_speech", (speech, 1)),
        ("Alignment lab (sounds)", "/align_sounds",
         (handle_file(str(EXAMPLES / "align_speech_a.wav")),
          handle_file(str(EXAMPLES / "align_speech_b.wav")), "cosine distance", 0)),
        ("Alignment lab (sentence and gloss)", "/align_texts", ("I want a hot coffee.", "", 0)),
        ("Alignment lab (world clip)", "/inspect_clip", ("test", 3)),
        ("Sound -> Image (slider preview)", "/preview_edit", (sound, 6, 2)),
        ("Sound -> Image (picture)", "/sound_to_image", (sound, 6, 2, None, 0, 0, 15)),
    ]


def user(url: str, index: int, n_requests: int) -> list[tuple[str, float, str | None]]:
    """One visitor: ``n_requests`` calls, cycling through the tabs from tab ``index``."""
    client = Client(url, verbose=False)
    todo = requests()
    out = []
    for k in range(n_requests):
        tab, endpoint, args = todo[(index + k) % len(todo)]
        start = time.perf_counter()
        try:
            client.predict(*args, api_name=endpoint)
            error = None
        except Exception as exc:  # recorded, the run fails at the end
            error = f"{type(exc).__name__}: {exc}"
        out.append((tab, time.perf_counter() - start, error))
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--requests", type=int, default=5)
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None, help="write the results table here")
    args = p.parse_args(argv)
    from app import MAX_FILE_SIZE, build_demo

    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True,
                            quiet=True, max_file_size=MAX_FILE_SIZE)
    try:
        warm = Client(url, verbose=False)  # load every model once, outside the timing
        for _, endpoint, call_args in requests():
            warm.predict(*call_args, api_name=endpoint)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.users) as pool:
            results = [r for rs in pool.map(lambda i: user(url, i, args.requests), range(args.users))
                       for r in rs]
        wall = time.perf_counter() - start
    finally:
        demo.close()
    errors = [e for _, _, e in results if e]
    by_tab: dict[str, list[float]] = {}
    for tab, seconds, error in results:
        if error is None:
            by_tab.setdefault(tab, []).append(seconds)
    report = {"users": args.users, "requests_per_user": args.requests, "total": len(results),
              "failed": len(errors), "errors": errors[:5], "wall_s": wall, "load_avg": os.getloadavg(),
              "tabs": {tab: {"n": len(v), "p50_s": percentile(v, 50), "p95_s": percentile(v, 95)}
                       for tab, v in by_tab.items()}}
    table = ["| tab (endpoint) | requests | p50 (s) | p95 (s) |", "| --- | --- | --- | --- |"]
    table += [f"| {tab} | {r['n']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} |"
              for tab, r in report["tabs"].items()]
    print("\n".join(table))
    print(f"{len(results) - len(errors)}/{len(results)} succeeded in {wall:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(table) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
