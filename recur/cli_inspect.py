"""``recur inspect RUN TEXT_OR_FILE --out report.html``: what a run's units learned, where it is
surprised, why a classifier chose a class (recur/inspect/). Torch-free at import for --help."""

from __future__ import annotations

from recur.cli_options import add_config_flags
from recur.config.fields import from_dict
from recur.config.inspect_options import InspectConfig


def add_command(commands) -> None:
    inspect = commands.add_parser(
        "inspect",
        help="an HTML report of what a run's units learned and where it is surprised",
    )
    inspect.add_argument("run", metavar="RUN", help="run directory, or its best/ or last/")
    inspect.add_argument(
        "text",
        metavar="TEXT_OR_FILE",
        help="the text to inspect, or a file holding it (a MIDI file for music runs)",
    )
    inspect.add_argument(
        "--out", default="report.html", help="the HTML report to write (default: report.html)"
    )
    inspect.add_argument("--json", metavar="FILE", help="also write the findings as JSON")
    inspect.add_argument("--png", metavar="DIR", help="also write figures (PNG) into DIR")
    add_config_flags(inspect, InspectConfig, "inspection")
    inspect.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    inspect.add_argument("--threads", type=int, help="CPU threads (default: all cores)")


def run(args) -> None:
    from recur.cli import options_of, set_threads
    from recur.inspect.report import write_report

    set_threads(args.threads)
    config = from_dict(InspectConfig, options_of(args, InspectConfig))
    findings = write_report(
        args.run, args.text, args.out, args.json, args.png, config, device=args.device
    )
    lines = [f"wrote {args.out} ({findings['seconds']:.1f} s)"]
    for entry in findings.get("discovery", [])[:12]:
        best = entry["units"][0]
        lines.append(f"  {entry['feature']:<26} unit {best['unit']:<10} r = {best['r']:+.2f}")
    if findings.get("classifier"):
        lines.append(f"  predicted {findings['classifier']['class']}")
    if args.json:
        lines.append(f"wrote {args.json}")
    for path in findings.get("figures", []):
        lines.append(f"wrote {path}")
    print("\n".join(lines))
