"""Writes results/report.html: one static page (no network, no scripts; figures linked relatively) from what
`flatmin reproduce` and make_figures.py wrote into a results folder:
  report.json                   rows (target, quantity, reference, ours, verdict, note, paper), papers, skipped
  <target>/summary.json         per target: checks, checks_holding (and what the target computed)
  <target>/manifest.json        per target: the config it ran (claim, source), git SHA, wall time
  figures/index.json            make_figures.py's list: figure key -> module and PNG files (each with a PDF sibling)
Nothing here computes a verdict or holds a number: every value on the page comes from those files.

  /usr/bin/python3 paper_figures/make_report.py results       (prints the path of report.html)
"""
import html
import json
import os
import sys

VERDICTS = {  # report.json verdict -> (badge text, css class, summary column)
    "holds": ("holds", "v-holds", "holds"),
    "holds_when": ("holds only when …", "v-when", "holds only when …"),
    "differs": ("does not hold", "v-differs", "does not hold"),
    "not_reproducible": ("not reproducible here", "v-nr", "not reproducible here"),
}
ORDER = ["holds", "holds_when", "differs", "not_reproducible"]
NR_TARGET = "not_reproducible_here"  # rows of the config's top-level not_reproducible list

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:0 18px 40px;color:#1d1d1f}
h1{font-size:24px;margin:22px 0 4px}h2{font-size:19px;margin:0 0 6px}h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap;color:#fff}
.v-holds{background:#2e7d32}.v-when{background:#b26a00}.v-differs{background:#c62828}.v-nr{background:#6b6b75}.v-skip{background:#8d6e63}
section.target{border:1px solid #d8d8de;border-radius:8px;padding:12px 16px;margin:18px 0}
.meta{color:#555;font-size:13px}.note{color:#444;font-size:12.5px}.banner{background:#fff4e0;border:1px solid #e0b060;border-radius:6px;padding:8px 12px;margin:10px 0}
figure{display:inline-block;margin:6px 10px 6px 0;vertical-align:top}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#555}pre{background:#f6f6f8;padding:8px 10px;border-radius:6px;overflow-x:auto;font-size:12.5px}
ul.files{columns:2;font-size:12.5px;margin:4px 0}nav a{margin-right:10px}
"""


def die(msg):
    sys.exit(f"make_report: {msg}")


def read_json(path, required=True):
    if not os.path.exists(path):
        if required:
            die(f"missing {path} (run `build/bin/flatmin reproduce` and paper_figures/make_figures.py first)")
        return None
    with open(path) as f:
        return json.load(f)


def esc(x):
    return html.escape("" if x is None else str(x))


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:.4g}"
    return esc(v)


def badge(verdict):
    text, cls, _ = VERDICTS.get(verdict, (verdict, "v-nr", verdict))
    return f'<span class="badge {cls}" data-verdict="{esc(verdict)}">{esc(text)}</span>'


def group_of(row_target):
    """theory/<section> rows belong to the target 'theory'."""
    return row_target.split("/", 1)[0]


def link(results, rel, text=None):
    return f'<a href="{esc(rel)}">{esc(text or rel)}</a>' if os.path.exists(os.path.join(results, rel)) else esc(text or rel)


def data_files(results, target, limit=40):
    """The target folder's CSV/JSON files (relative to results), top level first; at most `limit` listed."""
    base = os.path.join(results, target)
    found = []
    for root, dirs, files in os.walk(base):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".csv", ".json")):
                rel = os.path.relpath(os.path.join(root, f), results)
                found.append((rel.count(os.sep), rel))
    found.sort()
    return [r for _, r in found[:limit]], max(0, len(found) - limit)


def paper_summary(report, rows_by_paper):
    papers = report.get("papers") or {}
    keys = sorted(set(papers) | set(rows_by_paper))
    out = ['<table id="paper-summary"><tr><th>paper</th><th>claims</th>'
           + "".join(f"<th>{esc(VERDICTS[v][2])}</th>" for v in ORDER) + "<th>targets</th></tr>"]
    for p in keys:
        info = papers.get(p, {})
        rows = rows_by_paper.get(p, [])
        title = info.get("title", "") if p else ""
        name = f"{esc(p or '(no paper given)')} — {esc(info.get('short', ''))}" if info.get("short") else esc(p or "(no paper given)")
        if info.get("same_as") and not rows:
            out.append(f'<tr data-paper="{esc(p)}"><td><b>{name}</b><br><span class="note">{esc(title)}</span></td>'
                       f'<td colspan="{len(ORDER) + 2}" class="note">the same paper as {esc(info["same_as"])}: '
                       f'its claims are counted there</td></tr>')
            continue
        counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ORDER}
        targets = sorted({group_of(r["target"]) for r in rows})
        tlinks = ", ".join(f'<a href="#target-{esc(t)}">{esc(t)}</a>' for t in targets)
        out.append(f'<tr data-paper="{esc(p)}"><td><b>{name}</b><br><span class="note">{esc(title)}</span></td>'
                   f'<td class="num">{len(rows)}</td>'
                   + "".join(f'<td class="num">{counts[v]}</td>' for v in ORDER) + f"<td>{tlinks}</td></tr>")
    total = {v: sum(len([r for r in rs if r["verdict"] == v]) for rs in rows_by_paper.values()) for v in ORDER}
    out.append(f'<tr><th>all</th><th class="num">{sum(len(r) for r in rows_by_paper.values())}</th>'
               + "".join(f'<th class="num">{total[v]}</th>' for v in ORDER) + "<th></th></tr></table>")
    return "\n".join(out)


def rows_table(rows):
    out = ["<table class=\"rows\"><tr><th>quantity</th><th>paper / spec</th><th>ours</th><th>verdict</th><th>reason / note</th></tr>"]
    for r in rows:
        q = r["quantity"] if group_of(r["target"]) == r["target"] else f'{r["target"].split("/", 1)[1]}: {r["quantity"]}'
        out.append(f'<tr class="row" data-verdict="{esc(r["verdict"])}"><td>{esc(q)}</td><td class="num">{fmt(r.get("reference"))}</td>'
                   f'<td class="num">{fmt(r.get("ours"))}</td><td>{badge(r["verdict"])}</td>'
                   f'<td class="note">{esc(r.get("note", ""))}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def figures_html(results, figs):
    out = []
    for key, entry in figs:
        for png in entry["files"]:
            rel = os.path.relpath(os.path.join(results, png), results) if not os.path.isabs(png) else os.path.relpath(png, results)
            pdf = os.path.splitext(rel)[0] + ".pdf"
            out.append(f'<figure><img src="{esc(rel)}" alt="{esc(key)}" loading="eager">'
                       f'<figcaption>{esc(os.path.basename(rel))} · {link(results, rel, "PNG")} · {link(results, pdf, "PDF")}'
                       f' · {link(results, rel + ".json", "sources")}</figcaption></figure>')
    return "\n".join(out) if out else '<p class="note">no figure for this target in this results folder</p>'


def target_section(results, name, rows, report, figs, skipped_reason, profile):
    manifest = read_json(os.path.join(results, name, "manifest.json"), required=False) or {}
    summary = read_json(os.path.join(results, name, "summary.json"), required=False) or {}
    cfg = (manifest.get("config") or {}).get("target") or {}
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ORDER}
    head = " ".join(f"{badge(v)}&nbsp;{counts[v]}" for v in ORDER if counts[v])
    parts = [f'<section class="target" id="target-{esc(name)}" data-target="{esc(name)}">',
             f"<h2>{esc(name)}</h2>"]
    if skipped_reason is not None:
        parts.append(f'<p><span class="badge v-skip" data-verdict="skipped">skipped in profile {esc(profile)}</span> '
                     f'<span class="note">{esc(skipped_reason)}</span></p>')
    elif head:
        parts.append(f"<p>{head}</p>")
    if cfg.get("claim"):
        parts.append(f'<p><b>Claim.</b> {esc(cfg["claim"])}</p>')
    if cfg.get("source"):
        parts.append(f'<p class="meta"><b>Source.</b> {esc(cfg["source"])}</p>')
    if "checks" in summary:
        parts.append(f'<p class="meta">summary.json: {fmt(summary.get("checks_holding"))} of {fmt(summary.get("checks"))} checks hold'
                     + (f'; {fmt(summary.get("not_reproducible"))} not reproducible here' if summary.get("not_reproducible") else "")
                     + (f'; manifest: status {esc(manifest.get("status"))}, wall {fmt(manifest.get("wall_time_s"))} s, '
                        f'git {esc((manifest.get("git_sha") or "")[:10])}' if manifest else "") + "</p>")
    if figs:
        parts.append("<h3>Figures</h3>" + figures_html(results, figs))
    if rows:
        parts.append("<h3>Paper / spec vs ours</h3>" + rows_table(rows))
    if name != NR_TARGET:
        mods = sorted({e["module"] for _, e in figs})
        cmd = f"build/bin/flatmin reproduce --only {name} --profile {profile} --out {results}"
        for m in mods:
            cmd += f"\n/usr/bin/python3 paper_figures/{m}.py {results}"
        cmd += f"\n/usr/bin/python3 paper_figures/make_report.py {results}"
        parts.append(f"<h3>Regenerate</h3><pre>{esc(cmd)}</pre>")
        files, more = data_files(results, name)
        if files:
            items = "".join(f"<li>{link(results, f)}</li>" for f in files)
            parts.append(f'<h3>Data</h3><p class="meta">manifest: {link(results, os.path.join(name, "manifest.json"))}</p>'
                         f'<ul class="files">{items}</ul>'
                         + (f'<p class="note">… and {more} more files under {link(results, name + "/", name + "/")}</p>' if more else ""))
    parts.append("</section>")
    return "\n".join(parts)


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "results"
    report = read_json(os.path.join(results, "report.json"))
    index = read_json(os.path.join(results, "figures", "index.json"), required=False) or {}
    profile = report.get("profile", "?")
    rows = report.get("rows", [])
    for r in rows:
        if r.get("verdict") not in VERDICTS:
            die(f"report.json row {r.get('target')}/{r.get('quantity')}: unknown verdict {r.get('verdict')!r}")
    skipped = {s["target"]: s.get("reason", "") for s in report.get("skipped", [])}

    order, by_target, by_paper = [], {}, {}
    for r in rows:
        g = group_of(r["target"])
        if g not in by_target:
            order.append(g)
            by_target[g] = []
        by_target[g].append(r)
        by_paper.setdefault(r.get("paper") or "", []).append(r)
    for t in skipped:
        if t not in by_target:
            order.append(t)
            by_target[t] = []
    if NR_TARGET in order:  # the claims no target checks go last
        order.remove(NR_TARGET)
        order.append(NR_TARGET)
    figs_of = {}
    for key, entry in index.items():
        figs_of.setdefault(group_of(key), []).append((key, entry))

    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ORDER}
    checks = counts["holds"] + counts["holds_when"] + counts["differs"]
    sha = ""
    for t in order:
        m = read_json(os.path.join(results, t, "manifest.json"), required=False)
        if m and m.get("git_sha"):
            sha = m["git_sha"][:10] + (" (dirty)" if m.get("git_dirty") else "")
            break
    body = [f"<h1>flatmin reproduce report</h1>",
            f'<p class="meta">profile <b>{esc(profile)}</b> · {checks} checks: '
            + ", ".join(f"{counts[v]} {esc(VERDICTS[v][2])}" for v in ORDER[:3])
            + f" · {counts['not_reproducible']} claims not reproducible here"
            + (f" · {len(skipped)} targets skipped" if skipped else "")
            + (f" · git {esc(sha)}" if sha else "")
            + ' · <a href="report.md">report.md</a> · <a href="report.json">report.json</a></p>']
    if profile == "smoke":
        body.append('<p class="banner">Profile <b>smoke</b>: tiny budgets that test the pipeline (targets → data → figures → '
                    'this page) in seconds. Its verdicts are not evidence about the papers; see the quick or full profile.</p>')
    body.append("<h2>Summary per paper</h2>" + paper_summary(report, by_paper))
    body.append("<nav>" + " ".join(f'<a href="#target-{esc(t)}">{esc(t)}</a>' for t in order) + "</nav>")
    for t in order:
        if t == NR_TARGET:
            body.append(f'<section class="target" id="target-{NR_TARGET}"><h2>Claims not reproducible here</h2>'
                        '<p class="note">Paper claims that no target of this toolkit checks, with the reason '
                        '(experiments/configs/reproduce.json, "not_reproducible").</p>'
                        + rows_table(by_target[t]) + "</section>")
        else:
            body.append(target_section(results, t, by_target[t], report, figs_of.get(t, []), skipped.get(t), profile))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>flatmin reproduce report ({esc(profile)})</title>"
            '<link rel="icon" href="data:,">'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    out = os.path.join(results, "report.html")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
