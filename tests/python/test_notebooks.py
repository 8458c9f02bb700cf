"""The notebooks in notebooks/ execute top to bottom without a cell error (nbclient, a python3 kernel
running this interpreter with this PYTHONPATH), and they are committed without outputs."""
import json
import os
import sys
import time

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (Debian: python3-nbformat)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (Debian: python3-nbclient)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (Debian: python3-ipykernel)")

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NB_DIR = os.path.join(ROOT, "notebooks")
NOTEBOOKS = sorted(f for f in os.listdir(NB_DIR) if f.endswith(".ipynb"))
TIMEOUT_S = 600  # per cell; each notebook takes < 2 min on one thread (docs: notebooks/README.md)


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernel spec that runs this interpreter (so the kernel sees the same torch and flatmin), found
    through JUPYTER_PATH, and PYTHONPATH with the package under test."""
    d = tmp_path_factory.mktemp("jupyter")
    spec = d / "kernels" / "flatmin-test"
    spec.mkdir(parents=True)
    with open(spec / "kernel.json", "w") as f:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "flatmin test", "language": "python"}, f)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__import__("flatmin").__file__)))
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYTHONPATH", "OMP_NUM_THREADS")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(d), saved["JUPYTER_PATH"]]))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [pkg, saved["PYTHONPATH"]]))
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield "flatmin-test"
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_there_are_notebooks():
    assert {"01_miadam_vs_adam_fashion_mnist.ipynb", "02_escape_time_theory.ipynb",
            "03_porting_pyhessian.ipynb"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name}: a cell has outputs"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, kernel_env):
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name=kernel_env,
                                     resources={"metadata": {"path": NB_DIR}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell on any error
    print(f"{name}: executed in {time.perf_counter() - t0:.1f} s")
