"""Regenerates every figure from a results folder: /usr/bin/python3 paper_figures/make_figures.py results
Each figure is a PNG with a PDF sibling (common.save); figures/index.json lists, per FIGURES key, the module
and the PNGs it drew (make_report.py places them in report.html)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fig1_filtering  # noqa: E402
import fig_adam_cm_toy  # noqa: E402
import fig2_multiwell  # noqa: E402
import fig2_start_study  # noqa: E402
import fig2_yang  # noqa: E402
import fig3_hessian  # noqa: E402
import fig_dualadam_warmup  # noqa: E402
import fig_esd  # noqa: E402
import fig_label_noise  # noqa: E402
import fig_miadam_step_ratio  # noqa: E402
import fig_sim_escape  # noqa: E402
import fig_sim_regret  # noqa: E402
import fig_table2_imagenet  # noqa: E402
import fig_table3_text  # noqa: E402
import fig_training_curves  # noqa: E402
import fig_theory_regret  # noqa: E402
import fig_theory_slopes  # noqa: E402
import fig_yang_landscape  # noqa: E402

# key = the results sub-folder a module reads (a reproduce target, or target/sub-folder)
FIGURES = {"miadam_step_ratio": fig_miadam_step_ratio, "dualadam_warmup": fig_dualadam_warmup}
FIGURES.update({"theory/slopes": fig_theory_slopes, "theory/regret": fig_theory_regret})
FIGURES.update({"sim_yang_landscape": fig_yang_landscape, "sim_fig2_yang": fig2_yang, "sim_fig2_multiwell": fig2_multiwell,
                "sim_start_study": fig2_start_study, "sim_escape": fig_sim_escape, "sim_regret": fig_sim_regret})
FIGURES.update({"hessian_esd": fig_esd})
FIGURES.update({"train_adam_vs_miadam1": fig_training_curves, "label_noise_rate": fig_label_noise})
FIGURES.update({"fig3_hessian": fig3_hessian})
FIGURES.update({"fig1_filtering": fig1_filtering, "adam_cm_toy": fig_adam_cm_toy})
FIGURES.update({"table2_imagenet": fig_table2_imagenet, "table3_text": fig_table3_text})


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "results"
    index = {}
    for target, module in FIGURES.items():
        folder = os.path.join(results, target)
        summary = os.path.join(folder, "summary.json")
        if os.path.isfile(summary):
            with open(summary) as f:
                if "skipped" in json.load(f):  # a target the profile skipped: no data to draw
                    continue
        if os.path.isdir(folder):
            made = module.main(results)
            made = made if isinstance(made, list) else [made]
            for m in made:
                print(m)
            index[target] = {"module": module.__name__,
                             "files": [os.path.relpath(m, results) for m in made if m.endswith(".png")]}
    if not index:
        sys.exit(f"make_figures: no target folders in {results} (run `build/bin/flatmin reproduce` first)")
    out = os.path.join(results, "figures", "index.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        json.dump(index, f, indent=2)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
