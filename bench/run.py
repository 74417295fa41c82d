"""Run the benchmarks and write bench/results.json and bench/results.md.

Each benchmark is a module of this folder with `run(args, workdir) -> dict`; its
figures are stored under its name, so a run of some (`--only store`) keeps the
others' last figures. Ratios are measured against a baseline in the same run,
because this machine is shared and absolute times are noisy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
from datetime import datetime
from pathlib import Path

BENCHES = ["store", "overdue", "ocr", "digits", "engines", "marks", "lexicon", "cards", "reports", "dask", "review"]
HERE = Path(__file__).parent


def machine() -> dict:
    mem = 0
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) // 1024 // 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), memory_gb=mem, python=platform.python_version(),
                system=platform.platform())


def to_markdown(results: dict) -> str:
    lines = ["# ベンチマーク結果", "", f"マシン: {results['machine']['cpu']}, {results['machine']['cores']} コア, "
             f"{results['machine']['memory_gb']} GB", ""]
    for name in sorted(k for k in results if k != "machine"):
        lines += [f"## {name}", "", f"計測日時: {results[name].get('measured_at', '')}", "",
                  "| 項目 | 値 |", "|---|---|"]
        for key, value in results[name].items():
            if key != "measured_at":
                lines.append(f"| {key} | {value} |")
        lines.append("")
        # a benchmark may add tables of its own (the OCR figures per degradation class)
        extra = getattr(importlib.import_module(f"bench.{name}"), "markdown", None)
        if extra:
            lines += extra(results[name])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="junkai のベンチマーク")
    parser.add_argument("--premises", type=int, default=600_000, help="ストアの各戸数")
    parser.add_argument("--only", nargs="*", default=BENCHES, choices=BENCHES)
    parser.add_argument("--workdir", type=Path, default=HERE / "tmp")
    parser.add_argument("--ocr-cards", type=int, default=200,
                        help="ocr: 模擬するカードの数の目安 (各戸はその 1.2 倍、白紙カードを 3 割ほど加える)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["machine"] = machine()
    for name in args.only:
        print(f"== {name}", flush=True)
        figures = importlib.import_module(f"bench.{name}").run(args, args.workdir)
        figures["measured_at"] = datetime.now().isoformat(timespec="seconds")
        results[name] = figures
        print(json.dumps(figures, ensure_ascii=False, indent=1), flush=True)
        path.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
        (HERE / "results.md").write_text(to_markdown(results) + "\n")


if __name__ == "__main__":
    main()
