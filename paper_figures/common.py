"""Readers shared by the figure scripts: they only read results/, never compute beyond aggregation."""
import csv
import json
import os
import sys


def read_csv(path, required):
    if not os.path.exists(path):
        sys.exit(f"paper_figures: missing {path} (run `build/bin/flatmin reproduce` first)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"paper_figures: {path} has no rows")
    missing = [c for c in required if c not in rows[0]]
    if missing:
        sys.exit(f"paper_figures: {path} lacks columns {missing}")
    return rows


def read_json(path):
    if not os.path.exists(path):
        sys.exit(f"paper_figures: missing {path} (run `build/bin/flatmin reproduce` first)")
    with open(path) as f:
        return json.load(f)


def write_sidecar(png_path, sources):
    """Names the result files (and their manifests' git SHAs) a figure was drawn from."""
    info = []
    for s in sources:
        manifest = os.path.join(os.path.dirname(s), "manifest.json")
        sha = None
        if os.path.exists(manifest):
            with open(manifest) as f:
                sha = json.load(f).get("git_sha")
        info.append({"file": s, "git_sha": sha})
    tmp = png_path + ".json.tmp"
    with open(tmp, "w") as f:
        json.dump({"figure": os.path.basename(png_path), "sources": info}, f, indent=2)
    os.replace(tmp, png_path + ".json")


def pdf_sibling(png_path):
    """The PDF that save() writes beside every PNG (same name, .pdf)."""
    return os.path.splitext(png_path)[0] + ".pdf"


def save(fig, path):
    """Writes the figure as PNG at `path` and as PDF beside it (pdf_sibling), each atomically; closes it."""
    tmp = path + ".tmp.png"
    fig.savefig(tmp, bbox_inches="tight")
    os.replace(tmp, path)
    pdf = pdf_sibling(path)
    tmp = pdf + ".tmp.pdf"
    fig.savefig(tmp, bbox_inches="tight")
    os.replace(tmp, pdf)
    import matplotlib.pyplot as plt  # noqa: E402  (style.apply() selected the Agg backend)
    plt.close(fig)
