"""All figure styling in one place (Debian's matplotlib; no seaborn)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PALETTE = {"adam": "#333333", "miadam1": "#1f77b4", "miadam2": "#ff7f0e", "miadam3": "#2ca02c",
           "dualadam": "#d62728", "invadam": "#9467bd"}
WIDTH_IN = 5.5
HEIGHT_IN = 3.6


def apply():
    plt.rcParams.update({"figure.dpi": 120, "savefig.dpi": 150, "font.size": 9, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.fontsize": 8, "axes.spines.top": False,
                         "axes.spines.right": False})
