"""Vendors the showcase page's front-end libraries from npm into ui/static/vendor/ (committed, so the page
needs no build step and no CDN: it works offline).

    python scripts/vendor_ui.py        # npm pack each pinned package, copy its browser build and licence

Each library is one pre-built browser file from its npm package: Cytoscape.js draws the task graph,
Chart.js the router's charts. SOURCES.md beside them records the package, version, licence and the
tarball's integrity hash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "ui" / "static" / "vendor"
# (package, version, file in the package, licence file in the package, licence)
PACKAGES = [
    ("cytoscape", "3.35.0", "dist/cytoscape.min.js", "LICENSE", "MIT"),
    ("chart.js", "4.6.1", "dist/chart.umd.min.js", "LICENSE.md", "MIT"),
]


def main() -> None:
    if shutil.which("npm") is None:
        sys.exit("npm is not installed (apt-get install -y npm)")
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, member, licence_file, licence in PACKAGES:
            packed = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
                                    check=True, capture_output=True, text=True)
            info = json.loads(packed.stdout)[0]
            with tarfile.open(Path(tmp) / info["filename"]) as tar:
                for inner, dest in ((member, Path(member).name), (licence_file, f"{name}.LICENSE")):
                    data = tar.extractfile(f"package/{inner}")
                    assert data is not None, inner
                    (OUT / dest).write_bytes(data.read())
            rows.append(f"| {Path(member).name} | {name} {version} (`{member}`) | {licence} | `{info['integrity']}` |")
            print(f"vendored {name} {version}")
    (OUT / "SOURCES.md").write_text(
        "# Vendored front-end libraries\n\nWritten by `scripts/vendor_ui.py` from the npm registry; each licence "
        "is beside its file (`NAME.LICENSE`).\n\n| file | package | licence | npm integrity |\n"
        "| --- | --- | --- | --- |\n"
        + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
