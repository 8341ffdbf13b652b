"""Screenshots of report.html in headless Chromium, for the demo world's presets (``make screenshots``).

Run from the repository root:

    .venv/bin/python benchmarks/screenshots.py                      # tiny and small presets
    .venv/bin/python benchmarks/screenshots.py --preset tiny
    .venv/bin/python benchmarks/screenshots.py --bundle out/2024    # an existing bundle, no demo run

For each preset it builds a bundle the way ``make demo`` does (``demosite demo --preset P`` with its
own SQLite database, home and output under ``var/screenshots/<preset>/``; an existing bundle there is
reused unless ``--rebuild``), then opens ``report.html`` in headless Chromium and saves one PNG per
view (the front page, the contents, a section's key findings, Fig. 13, Table 6, the methods
appendix) and a PDF of the whole report as it prints (the print CSS). Each view is a copy of the
page with a one-line script that drops what comes before the view's element. Nothing is contacted
but 127.0.0.1 (the demo web) and local files. Without Chromium (Debian: ``apt-get install -y chromium``) it prints why and exits 0: it is a
check for a person to look at, not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: (file stem, element id to scroll to; "" = the top of the page)
VIEWS = (("1-front", ""), ("2-contents", "section-firms"), ("3-network-findings", "section-network"),
         ("4-fig13", "fig13_network"), ("5-table6", "table6_provinces"), ("6-methods", "methods"))
#: Injected into a copy of the page: remove every top-level element before the one holding id ANCHOR.
DROP_BEFORE = ("<script>(function(){let e=document.getElementById('ANCHOR');while(e.parentElement!==document.body)"
               "{e=e.parentElement;}while(e.previousElementSibling){e.previousElementSibling.remove();}})();</script>")


def find_browser(given: str | None) -> str | None:
    """The Chromium executable: ``given``, else the first of :data:`BROWSERS` on PATH."""
    if given:
        return given if shutil.which(given) else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def build_bundle(preset: str, home: Path, rebuild: bool) -> Path:
    """Run ``demosite demo --preset`` into ``home`` (unless a bundle is there) and return the bundle directory."""
    out = home / "out"
    latest = out / "LATEST"
    if rebuild and home.exists():
        shutil.rmtree(home)
    if not latest.exists():
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{home / 'aimap.db'}", "AIMAP_HOME": str(home / "home"),
               "AIMAP_OUT": str(out), "PREFECT_HOME": str(home / "prefect")}
        env.pop("PREFECT_API_URL", None)
        print(f"screenshots: building the {preset} demo bundle in {home} (demosite demo) ...", flush=True)
        with (home / "demo.log").open("w", encoding="utf-8") as log:
            done = subprocess.run([str(ROOT / ".venv" / "bin" / "demosite"), "demo", "--preset", preset], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, check=False, cwd=ROOT)
        if done.returncode != 0 or not latest.exists():
            raise SystemExit(f"screenshots: demosite demo --preset {preset} failed; see {home / 'demo.log'}")
    return out / latest.read_text(encoding="utf-8").strip()


def shoot(browser: str, bundle: Path, target: Path, prefix: str, width: int, height: int) -> list[Path]:
    """Screenshots of every view of ``bundle/report.html`` and its print PDF into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    page = (bundle / "report.html").read_text(encoding="utf-8")
    shots = []
    for stem, anchor in VIEWS:
        # start the view at the element: drop everything before it (scrolling is not kept by --screenshot)
        script = (DROP_BEFORE.replace("ANCHOR", anchor)) if anchor else ""
        copy = bundle / f".screenshot-{stem}.html"  # beside the report, so its relative links still resolve
        copy.write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
        png = target / f"{prefix}-{stem}.png"
        try:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--virtual-time-budget=3000", f"--window-size={width},{height}", f"--screenshot={png}",
                            copy.as_uri()], capture_output=True, timeout=120, check=True)
        finally:
            copy.unlink(missing_ok=True)
        shots.append(png)
    pdf = target / f"{prefix}-print.pdf"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", (bundle / "report.html").as_uri()],
                   capture_output=True, timeout=300, check=True)
    return [*shots, pdf]


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the bundles and take the screenshots; exit 0 with a message when Chromium is absent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", choices=("tiny", "small", "medium"),
                        help="demo world preset (repeatable; default: tiny and small)")
    parser.add_argument("--bundle", type=Path, help="screenshot this bundle directory instead of building one")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "screenshots", help="where PNG/PDF files go")
    parser.add_argument("--browser", help="Chromium executable (default: chromium on PATH)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the demo bundle even if one exists")
    parser.add_argument("--size", default="1280x1800", help="window size WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    browser = find_browser(args.browser)
    if browser is None:
        print("screenshots: skipped — no Chromium found (Debian: apt-get install -y chromium; or pass --browser)")
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.bundle:
        targets = [("bundle", args.bundle.resolve())]
    else:
        targets = [(p, build_bundle(p, args.out / p, args.rebuild)) for p in (args.preset or ["tiny", "small"])]
    for name, bundle in targets:
        if not (bundle / "report.html").exists():
            print(f"screenshots: {bundle} holds no report.html", file=sys.stderr)
            return 1
        files = shoot(browser, bundle, args.out, name, width, height)
        print(f"screenshots: {name} ({bundle}): " + ", ".join(str(f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
