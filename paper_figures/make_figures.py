"""Regenerates every figure from a results folder: /usr/bin/python3 paper_figures/make_figures.py results"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fig2_multiwell  # noqa: E402
import fig2_start_study  # noqa: E402
import fig2_yang  # noqa: E402
import fig3_hessian  # noqa: E402
import fig_dualadam_warmup  # noqa: E402
import fig_esd  # noqa: E402
import fig_miadam_step_ratio  # noqa: E402
import fig_training_curves  # noqa: E402
import fig_theory_regret  # noqa: E402
import fig_theory_slopes  # noqa: E402

FIGURES = {"miadam_step_ratio": fig_miadam_step_ratio, "dualadam_warmup": fig_dualadam_warmup}
FIGURES.update({"theory/slopes": fig_theory_slopes, "theory/regret": fig_theory_regret})
FIGURES.update({"sim_fig2_yang": fig2_yang, "sim_fig2_multiwell": fig2_multiwell, "sim_start_study": fig2_start_study})
FIGURES.update({"hessian_esd": fig_esd})
FIGURES.update({"train_adam_vs_miadam1": fig_training_curves})
FIGURES.update({"fig3_hessian": fig3_hessian})


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "results"
    made = 0
    for target, module in FIGURES.items():
        if os.path.isdir(os.path.join(results, target)):
            print(module.main(results))
            made += 1
    if made == 0:
        sys.exit(f"make_figures: no target folders in {results} (run `build/bin/flatmin reproduce` first)")


if __name__ == "__main__":
    main()
