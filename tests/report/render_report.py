"""ctest report_render: renders <results>/report.html in headless Chromium (DevTools protocol, tests/report/cdp.py)
and checks that every target of the reproduce config has its section, every <img> loaded (naturalWidth > 0),
the page's verdict badges are report.json's, and the page logged no console error, exception or failed load.
Saves a full-page screenshot. Before that it renders a deliberately broken page and requires the same checks
to catch its missing image and its console error (so the check itself can fail).
Exit 77 (ctest SKIP_RETURN_CODE) only when no Chromium is installed.

  python3 tests/report/render_report.py --results build/report_smoke --config experiments/configs/reproduce.json \
      --screenshot build/report_smoke.png"""
import argparse
import base64
import collections
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

PAGE_STATE = r"""
(async () => {
  await Promise.all([...document.images].map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  return {
    sections: [...document.querySelectorAll('section.target')].map(s => s.dataset.target || s.id),
    images: [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth})),
    badges: [...document.querySelectorAll('tr.row .badge')].map(b => b.dataset.verdict),
    papers: [...document.querySelectorAll('#paper-summary tr[data-paper]')].map(r => r.dataset.paper),
    height: Math.ceil(document.documentElement.scrollHeight),
  };
})()
"""


def errors_of(events):
    out = []
    for method, p in events:
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip())
    return out


def load(browser, path):
    browser.events.clear()
    browser.call("Page.navigate", url="file://" + os.path.abspath(path))
    browser.wait_event("Page.loadEventFired")
    state = browser.evaluate(PAGE_STATE)
    browser.call("Runtime.evaluate", expression="0")  # flush events queued before the state was read
    return state, errors_of(browser.events)


def self_test(browser):
    """The checks must catch a missing image and a console error."""
    with tempfile.TemporaryDirectory() as d:
        page = os.path.join(d, "broken.html")
        with open(page, "w") as f:
            f.write('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
                    '<section class="target" data-target="x"></section><img src="missing.png">'
                    '<script>console.error("deliberate")</script></body></html>')
        state, errors = load(browser, page)
    bad_images = [i for i in state["images"] if i["width"] <= 0]
    assert bad_images, "self-test: a missing image was not detected"
    assert any("deliberate" in e for e in errors), f"self-test: console.error not detected ({errors})"
    print(f"self-test: a missing image and a console error are caught ({len(errors)} errors seen)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--config", required=True, help="experiments/configs/reproduce.json")
    ap.add_argument("--screenshot", required=True)
    a = ap.parse_args()
    exe = cdp.find_chromium()
    if exe is None:
        print("SKIP: no chromium on PATH (Debian package `chromium`; scripts/bootstrap.sh installs it)")
        return 77
    page = os.path.join(a.results, "report.html")
    if not os.path.exists(page):
        print(f"FAIL: {page} missing (the report_smoke test writes it)")
        return 1
    with open(a.config) as f:
        targets = list(json.load(f)["targets"])
    with open(os.path.join(a.results, "report.json")) as f:
        report = json.load(f)
    index_path = os.path.join(a.results, "figures", "index.json")
    n_figures = 0
    if os.path.exists(index_path):
        with open(index_path) as f:
            n_figures = sum(len(e["files"]) for e in json.load(f).values())

    browser = cdp.Browser(exe)
    failures = []
    try:
        for domain in ("Page", "Runtime", "Log"):
            browser.call(domain + ".enable")
        self_test(browser)
        state, errors = load(browser, page)
        missing = [t for t in targets if t not in state["sections"]]
        if missing:
            failures.append(f"target sections missing: {missing}")
        broken = [i["src"] for i in state["images"] if i["width"] <= 0]
        if broken:
            failures.append(f"images not loaded: {broken}")
        if len(state["images"]) < n_figures or n_figures == 0:
            failures.append(f"{len(state['images'])} images on the page, {n_figures} figures in figures/index.json")
        want = collections.Counter(r["verdict"] for r in report["rows"])
        got = collections.Counter(state["badges"])
        if want != got:
            failures.append(f"verdict badges {dict(got)} != report.json verdicts {dict(want)}")
        papers = set(report.get("papers", {})) | {r.get("paper") or "" for r in report["rows"]}
        if set(state["papers"]) != papers:
            failures.append(f"paper summary rows {sorted(state['papers'])} != papers {sorted(papers)}")
        if errors:
            failures.append(f"console/page errors: {errors}")
        # full-page screenshot
        h = max(600, min(int(state["height"]), 30000))
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=h, deviceScaleFactor=1, mobile=False)
        shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
        if not shot.startswith(b"\x89PNG"):
            failures.append("the screenshot is not a PNG")
        os.makedirs(os.path.dirname(os.path.abspath(a.screenshot)), exist_ok=True)
        with open(a.screenshot, "wb") as f:
            f.write(shot)
    finally:
        browser.close()
    print(f"{len(state['sections'])} sections, {len(state['images'])} images, {len(state['badges'])} verdict badges "
          f"{dict(collections.Counter(state['badges']))}; screenshot {a.screenshot} ({len(shot)} bytes)")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
