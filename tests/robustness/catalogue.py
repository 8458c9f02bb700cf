"""The catalogue of bad inputs to flatmin's command-line entry points (issue 15, item 4).

Every case is one bad input to one entry point, built by mutating a VALID base config (each base is
itself run by the tests and must succeed, so a case fails because of its mutation, not its base) or by
a bad flag / file / output location. Each case expects the house rule for bad input: exit code 2, exactly
one line on stderr starting with `flatmin: error:` (`flatmin-theory: error:`), naming the key / flag /
file at fault (the case's `expect`), before any work, and nothing written (test_catalogue.py checks).

A case's files are written into its own empty folder, which is also the working directory of the command,
so every relative output path lands there and "nothing written" is checked over the whole folder.
"""
import copy
import json
import os
import re

OUTCOMES = {}  # case id -> {entry, ok, problems, rc, line}: filled by the tests, summarised by conftest.py

DIR = object()  # files[...] = DIR: create an (empty) folder
DELETE = object()  # mutate(..., DELETE): remove the key


class Raw:
    """A JSON value written verbatim (e.g. 1e999, which the JSON reader must refuse)."""

    def __init__(self, text):
        self.text = text


class Rename:
    """mutate(..., Rename(new)): the key is renamed (a typo)."""

    def __init__(self, new):
        self.new = new


def dumps(obj):
    """json.dumps, with Raw values spliced in verbatim."""
    raws = []

    def enc(o):
        if isinstance(o, Raw):
            raws.append(o.text)
            return f"@@RAW{len(raws) - 1}@@"
        raise TypeError(type(o))

    text = json.dumps(obj, default=enc)
    return re.sub(r'"@@RAW(\d+)@@"', lambda m: raws[int(m.group(1))], text)


def mutate(base, path, value):
    """A deep copy of `base` with the value at `path` (a tuple of keys / list indices) replaced by
    `value`, deleted (DELETE) or its key renamed (Rename)."""
    out = copy.deepcopy(base)
    node = out
    for k in path[:-1]:
        node = node[k]
    last = path[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(value, Rename):
        node[value.new] = node.pop(last)
    else:
        node[last] = value
    return out


def key_re(name):
    """Expectation: `name` as a whole word (a key or flag named in the message)."""
    return "re:(?<![A-Za-z0-9_])" + re.escape(name) + "(?![A-Za-z0-9_])"


class Case:
    """One bad input. `args` run with cwd = the case's folder (after `files` are written there);
    `expect` = list of requirements on the error line, each a substring, a "re:" regex, or a tuple of
    alternatives (any one suffices)."""

    def __init__(self, entry, name, exe, args, files=None, expect=(), timeout=20.0):
        self.entry, self.name, self.exe, self.args = entry, name, exe, list(args)
        self.files = files or {}
        self.expect = list(expect)
        self.timeout = timeout

    @property
    def id(self):
        return f"{self.entry}: {self.name}"


class Control:
    """A valid input that must succeed (exit 0): the base a group of cases mutates."""

    def __init__(self, entry, exe, args, files=None, timeout=120.0):
        self.entry, self.exe, self.args, self.files, self.timeout = entry, exe, list(args), files or {}, timeout

    @property
    def id(self):
        return f"{self.entry}: valid base"


# ---------------------------------------------------------------------------------------------------
# generators

def config_cases(entry, exe, argv, cfg_name, base, specs, extra_files=None):
    """Cases from per-key mutation specs over a valid config `base` written to `cfg_name`.
    specs: list of (path, [(label, value, expect…)]) where expect defaults to the last key's name.
    argv: the command line (cfg_name in it)."""
    out = []
    for path, variants in specs:
        key = path[-1] if not isinstance(path[-1], int) else path[-2]
        for v in variants:
            label, value = v[0], v[1]
            expect = [cfg_name if e == "$CFG" else e for e in v[2:]] or [key_re(str(key))]
            cfg = mutate(base, path, value)
            files = {cfg_name: cfg, **(extra_files or {})}
            out.append(Case(entry, f"{'.'.join(map(str, path))} {label}", exe, argv, files, expect))
    return out


def num_variants(bad_range=(), nonfinite=False, wrong_type=False):
    """Variants of a real-valued key: the out-of-range values given; with wrong_type a string; with
    nonfinite "nan"/"inf" strings and 1e999 (refused by the JSON parser: the message names the file)."""
    v = [(f"= {r!r}", r) for r in bad_range]
    if wrong_type:
        v.append(("wrong type (string)", "abc"))
    if nonfinite:
        v += [('= "nan"', "nan"), ('= "inf"', "inf"), ("= 1e999", Raw("1e999"), "$CFG")]
    return v


def int_variants(bad_range=(), huge=False, fractional=False, wrong_type=False):
    """Variants of an integer key: the out-of-range values given; 2.5; a string; 1e18 and 10**18."""
    v = [(f"= {r!r}", r) for r in bad_range]
    if fractional:
        v.append(("= 2.5 (not an integer)", 2.5))
    if wrong_type:
        v.append(("wrong type (string)", "7"))
    if huge:
        v += [("= 1e18 (huge count)", 1e18), ("= 10**18 (huge count)", 10**18)]
    return v


def typo_cases(entry, exe, argv, cfg_name, base, typos):
    """(path, typo): the key at path renamed → 'did you mean '<key>''."""
    out = []
    for path, typo in typos:
        cfg = mutate(base, path, Rename(typo))
        out.append(Case(entry, f"typo {'.'.join(map(str, path[:-1] + (typo,)))}", exe, argv, {cfg_name: cfg},
                        [f"did you mean '{path[-1]}'"]))
    return out


def config_file_cases(entry, exe, argv_with, flag="--config", extra_files=None):
    """The config file itself: missing, a folder, empty, not JSON, truncated JSON, not an object.
    argv_with(path) gives the command line with the config at `path`."""
    f = extra_files or {}
    return [
        Case(entry, f"{flag} missing file", exe, argv_with("nope.json"), dict(f), ["nope.json"]),
        Case(entry, f"{flag} is a folder", exe, argv_with("cfgdir"), {**f, "cfgdir": DIR}, ["cfgdir"]),
        Case(entry, f"{flag} empty file", exe, argv_with("empty.json"), {**f, "empty.json": ""}, ["empty.json"]),
        Case(entry, f"{flag} not JSON", exe, argv_with("junk.json"), {**f, "junk.json": "\x00\x01garbage{"}, ["junk.json"]),
        Case(entry, f"{flag} truncated JSON", exe, argv_with("trunc.json"), {**f, "trunc.json": '{"a": [1, 2'}, ["trunc.json"]),
        Case(entry, f"{flag} JSON array, not an object", exe, argv_with("arr.json"), {**f, "arr.json": "[1, 2]"},
             [("arr.json", "object")]),
    ]


def out_dir_cases(entry, exe, argv_with, files, flag="--out"):
    """Unusable output folders: under /proc, below a regular file, a regular file itself."""
    return [
        Case(entry, f"{flag} under /proc", exe, argv_with("/proc/flatmin-robustness/out"), dict(files),
             ["/proc/flatmin-robustness"]),
        Case(entry, f"{flag} below a regular file", exe, argv_with("afile/out"), {**files, "afile": "x\n"}, ["afile"]),
        Case(entry, f"{flag} is a regular file", exe, argv_with("afile"), {**files, "afile": "x\n"}, ["afile"]),
    ]


def out_file_cases(entry, exe, argv_with, files, flag="--out"):
    """Unusable output files: under /proc, below a regular file, an existing folder."""
    return [
        Case(entry, f"{flag} under /proc", exe, argv_with("/proc/flatmin-robustness/t.csv"), dict(files),
             ["/proc/flatmin-robustness"]),
        Case(entry, f"{flag} below a regular file", exe, argv_with("afile/t.csv"), {**files, "afile": "x\n"}, ["afile"]),
        Case(entry, f"{flag} is an existing folder", exe, argv_with("adir"), {**files, "adir": DIR}, ["adir"]),
    ]


def flag_cases(entry, exe, argv_base, flags):
    """(label, extra args, expect…): argv_base + extra args."""
    return [Case(entry, label, exe, argv_base + list(extra), files, list(expect))
            for label, extra, files, *expect in flags]


# ---------------------------------------------------------------------------------------------------
# flatmin train

TRAIN = {
    "name": "tiny",
    "data": {"dataset": "synthetic",
             "synthetic": {"n": 64, "classes": 4, "channels": 1, "size": 8, "noise": 50.0, "seed": 3},
             "augment": {"crop_padding": 1, "hflip": True}, "label_noise": {"rate": 0.2}},
    "model": {"name": "small_cnn", "options": {"width1": 4, "width2": 4, "hidden": 8}},
    "optimizer": {"name": "adam", "options": {"lr": 0.001}},
    "weight_decay": 5e-5,
    "epochs": 1,
    "batch_size": 32,
    "schedule": {"type": "multistep", "milestones": [2], "gamma": 0.5},
    "seed": 11,
    "profiles": {"quick": {"epochs": 1}, "full": {}},
}
T1 = ["--threads", "1"]


def train_cases():
    e, x = "flatmin train", "flatmin"
    argv = T1 + ["train", "--config", "cfg.json", "--out", "run", "--no-progress"]
    specs = [
        (("name",), [("wrong type", 3)]),
        (("data",), [("missing", DELETE), ("wrong type", [])]),
        (("data", "dataset"), [("missing", DELETE), ("unknown dataset", "mnist_typo", ("mnist_typo", "dataset")),
                               ("wrong type", 1)]),
        (("data", "synthetic", "n"), int_variants([0, -5], huge=True)),
        (("data", "synthetic", "classes"), int_variants([1, 0], fractional=False)),
        (("data", "synthetic", "channels"), int_variants([0], fractional=False, wrong_type=False)),
        (("data", "synthetic", "size"), int_variants([0, -1], fractional=False, wrong_type=False)),
        (("data", "synthetic", "noise"), num_variants([-1.0])),
        (("data", "synthetic"), [("wrong type", "big")]),
        (("data", "augment", "crop_padding"), int_variants([-1], fractional=True, wrong_type=False)),
        (("data", "augment", "hflip"), [("wrong type (1)", 1)]),
        (("data", "label_noise", "rate"), num_variants([1.5, -0.1], nonfinite=False) + [('= "nan"', "nan")]),
        (("data", "label_noise", "mode"), [("unknown mode", "sometimes", ("sometimes", "mode"))]),
        (("data", "train_subset"), [("= -1", -1), ("= 1000 > 64 images", 1000), ("wrong type", "all")]),
        (("data", "test_subset"), [("= -1", -1)]),
        (("data", "std"), [("= 0.0 (a number, not a list)", 0.0), ("= [0.0] (not > 0)", [0.0]), ("= [-1.0]", [-1.0])]),
        (("data", "mean"), [("wrong type", "middle")]),
        (("data", "normalize"), [("wrong type", "yes")]),
        (("model",), [("missing", DELETE)]),
        (("model", "name"), [("unknown model", "resnet9000", ("resnet9000", "model")), ("wrong type", 3)]),
        (("model", "options", "width1"), int_variants([0, -1], fractional=True, wrong_type=True, huge=True)),
        (("model", "options", "width2"), [("= 0", 0)]),
        (("model", "options", "hidden"), [("= -3", -3)]),
        (("model", "options"), [("wrong type", [1, 2])]),
        (("optimizer",), [("missing", DELETE)]),
        (("optimizer", "name"), [("typo miadm", "miadm", "did you mean 'miadam'"), ("wrong type", 7)]),
        (("optimizer", "options", "lr"), num_variants([-1.0])),
        (("optimizer", "options", "betas"), [("= [0.9, 1.5]", [0.9, 1.5]), ("= [0.9] (one value)", [0.9])]),
        (("optimizer", "options", "eps"), [("= -1e-8", -1e-8)]),
        (("optimizer", "options"), [("wrong type", [0.001])]),
        (("weight_decay",), [("= -1", -1.0), ("wrong type", "some")]),
        (("epochs",), [("missing", DELETE)] + int_variants([0, -1], huge=True)),
        (("batch_size",), int_variants([0, -32], huge=False) + [("= 10**18", 10**18)]),
        (("test_batch_size",), [("= 0", 0)]),
        (("drop_last",), [("wrong type", "no")]),
        (("seed",), [("wrong type", "lucky")]),
        (("set_epoch",), [("wrong type (1)", 1)]),
        (("divergence_factor",), [("= 0.5 (must be > 1 or 0)", 0.5), ("= -1", -1.0), ("wrong type", "x")]),
        (("schedule", "type"), [("unknown schedule", "linear_typo", ("linear_typo", "type"))]),
        (("schedule", "milestones"), [("wrong type", "2"), ("= [-1]", [-1])]),
        (("schedule", "gamma"), num_variants([-0.5], wrong_type=False)),
        (("schedule", "warmup_epochs"), [("= -1", -1.0)]),
        (("schedule",), [("wrong type", "cosine")]),
        (("profiles",), [("wrong type", "quick")]),
    ]
    cases = config_cases(e, x, argv, "cfg.json", TRAIN, specs)
    cases += typo_cases(e, x, argv, "cfg.json", TRAIN, [
        (("epochs",), "epochz"), (("batch_size",), "batchsize"), (("optimizer",), "optimiser"),
        (("data", "synthetic", "classes"), "clases"), (("data", "augment", "hflip"), "hfilp"),
        (("schedule", "milestones"), "milestone"), (("model", "options", "width1"), "widht1"),
        (("data", "label_noise", "rate"), "rte"), (("optimizer", "options", "lr"), "lrr"),
    ])
    q = mutate(TRAIN, ("profiles", "quick"), {"epochz": 1})
    cases.append(Case(e, "profiles.quick typo epochz (with --profile quick)", x,
                      T1 + ["train", "--config", "cfg.json", "--out", "run", "--profile", "quick", "--no-progress"],
                      {"cfg.json": q}, ["did you mean 'epochs'"]))
    good = {"cfg.json": TRAIN}
    cases += flag_cases(e, x, argv, [
        ("--profile medium", ["--profile", "medium"], good, "--profile"),
        ("--device tpu", ["--device", "tpu"], good, "tpu"),
        ("--stop-after -1", ["--stop-after", "-1"], good, "--stop-after"),
        ("--world-size 0", ["--world-size", "0"], good, "--world-size"),
        ("--rank 3 with world size 2", ["--world-size", "2", "--rank", "3", "--dist-store", "store"], good, "--rank"),
        ("--rank -1", ["--rank", "-1"], good, "--rank"),
        ("--dist-backend bogus", ["--dist-backend", "bogus"], good, "--dist-backend"),
        ("--dist-backend nccl on a CPU build", ["--dist-backend", "nccl"], good, ("nccl", "--dist-backend")),
        ("--sync-bn with world size 1", ["--sync-bn"], good, "--sync-bn"),
        ("--threads -1", ["--threads", "-1"], good, "--threads"),
        ("--threads abc", ["--threads", "abc"], good, "--threads"),
        ("unknown flag --epochs", ["--epochs", "3"], good, "--epochs"),
        ("--stop-after abc", ["--stop-after", "abc"], good, "--stop-after"),
        ("--data-dir missing folder (fashion_mnist)", ["--data-dir", "no_such_dir"],
         {"cfg.json": mutate(TRAIN, ("data",), {"dataset": "fashion_mnist"})}, "no_such_dir"),
        ("--resume with a corrupt checkpoint.pt", ["--resume"],
         {"cfg.json": TRAIN, "run": DIR, "run/checkpoint.pt": b"not a checkpoint\x00\x01"}, "checkpoint.pt"),
        ("existing checkpoint.pt without --resume", [],
         {"cfg.json": TRAIN, "run": DIR, "run/checkpoint.pt": b"PK\x03\x04"}, "checkpoint"),
    ])
    cases.append(Case(e, "--config without a value", x, T1 + ["train", "--out", "run", "--config"], {}, ["--config"]))
    cases.append(Case(e, "no --config", x, T1 + ["train", "--out", "run"], {}, ["--config"]))
    cases += config_file_cases(e, x, lambda p: T1 + ["train", "--config", p, "--out", "run", "--no-progress"])
    cases += out_dir_cases(e, x, lambda o: T1 + ["train", "--config", "cfg.json", "--out", o, "--no-progress"], good)
    ts = {"cfg.json": mutate(TRAIN, ("model",), {"torchscript": "net.pt"}), "net.pt": b"garbage, not TorchScript"}
    cases.append(Case(e, "model.torchscript corrupt file", x, argv, ts, ["net.pt"]))
    ts = {"cfg.json": mutate(TRAIN, ("model",), {"torchscript": "missing_net.pt"})}
    cases.append(Case(e, "model.torchscript missing file", x, argv, ts, ["missing_net.pt"]))
    return cases


def train_controls():
    return [Control("flatmin train", "flatmin", T1 + ["train", "--config", "cfg.json", "--out", "run", "--no-progress"],
                    {"cfg.json": TRAIN})]


# ---------------------------------------------------------------------------------------------------
# flatmin sweep

SWEEP = {"name": "tiny_sweep", "base": TRAIN,
         "optimizers": [{"label": "Adam", "name": "adam", "options": {"lr": 0.001}}],
         "seeds": [0], "noise_rates": [0.0], "out": "sw"}


def sweep_cases():
    e, x = "flatmin sweep", "flatmin"
    argv = T1 + ["sweep", "--config", "sweep.json", "--out", "sw", "--workers", "0", "--no-progress"]
    specs = [
        (("base",), [("missing", DELETE), ("missing recipe file", "no_recipe.json", "no_recipe.json"), ("wrong type", 3)]),
        (("base", "epochs"), [("= 0", 0)]),
        (("optimizers",), [("missing", DELETE), ("empty", []), ("wrong type", "adam")]),
        (("optimizers", 0, "name"), [("unknown optimizer", "adamz", "did you mean 'adam'")]),
        (("optimizers", 0, "label"), [("path traversal ../../evil", "../../evil", "label"),
                                      ("with a slash a/b", "a/b", "label"), ("wrong type", 5)]),
        (("optimizers", 0, "options", "lr"), [("= -1 (out of range)", -1.0), ('= "nan"', "nan")]),
        (("optimizers", 0, "options"), [("unknown option kapa", {"kapa": 0.9}, "kapa")]),
        (("seeds",), [("empty", []), ("wrong type", "0"), ("= [1.5]", [1.5])]),
        (("noise_rates",), [("= [1.5]", [1.5]), ("= [-0.1]", [-0.1]), ("wrong type", 0.1)]),
        (("overrides",), [("wrong type", [1])]),
        (("out",), [("wrong type", 9)]),
    ]
    cases = config_cases(e, x, argv, "sweep.json", SWEEP, specs)
    cases.append(Case(e, "overrides with a typo epochz", x, argv, {"sweep.json": {**SWEEP, "overrides": {"epochz": 2}}},
                      ["did you mean 'epochs'"]))
    two = mutate(SWEEP, ("optimizers",), SWEEP["optimizers"] * 2)
    cases.append(Case(e, "two optimizers with one label", x, argv, {"sweep.json": two}, ["Adam"]))
    cases += typo_cases(e, x, argv, "sweep.json", SWEEP, [(("seeds",), "seedz"), (("optimizers",), "optimizer"),
                                                          (("optimizers", 0, "label"), "lable")])
    good = {"sweep.json": SWEEP}
    cases += flag_cases(e, x, argv, [
        ("--workers -1", ["--workers", "-1"], good, "--workers"),
        ("--ranks-per-run 0", ["--ranks-per-run", "0"], good, "--ranks-per-run"),
        ("--profile medium", ["--profile", "medium"], good, "--profile"),
        ("--device tpu", ["--device", "tpu"], good, "tpu"),
        ("unknown flag --seed", ["--seed", "1"], good, "--seed"),
        ("--sync-bn without --ranks-per-run", ["--sync-bn"], good, "--sync-bn"),
    ])
    cases += config_file_cases(e, x, lambda p: T1 + ["sweep", "--config", p, "--out", "sw", "--workers", "0"])
    cases += out_dir_cases(e, x, lambda o: T1 + ["sweep", "--config", "sweep.json", "--out", o, "--workers", "0",
                                                 "--no-progress"], good)
    return cases


def sweep_controls():
    return [Control("flatmin sweep", "flatmin",
                    T1 + ["sweep", "--config", "sweep.json", "--out", "sw", "--workers", "0", "--no-progress"],
                    {"sweep.json": SWEEP})]


# ---------------------------------------------------------------------------------------------------
# flatmin hessian (the committed PyHessian fixtures: a small MLP with BatchNorm and its data)

def hessian_cases(fx):
    e, x = "flatmin hessian", "flatmin"
    m, d = os.path.join(fx, "mlp_bn.pt"), os.path.join(fx, "mlp_bn_data.pt")
    base = T1 + ["hessian", "--model", m, "--data", d, "--out", "o", "--top-k", "1"]
    cases = flag_cases(e, x, base, [
        ("--top-k -1", ["--top-k", "-1"], {}, "--top-k"),
        ("--top-k abc", ["--top-k", "abc"], {}, "--top-k"),
        ("--top-k 1000 (more than parameters)", ["--top-k", "1000"], {}, "--top-k"),
        ("--eig-tol 0", ["--eig-tol", "0"], {}, "--eig-tol"),
        ("--eig-tol nan", ["--eig-tol", "nan"], {}, "--eig-tol"),
        ("--ncv -1", ["--ncv", "-1"], {}, "--ncv"),
        ("--trace-rtol -1", ["--trace", "--trace-rtol", "-1"], {}, "--trace-rtol"),
        ("--trace-max-samples 0", ["--trace", "--trace-max-samples", "0"], {}, "--trace-max-samples"),
        ("--trace-min-samples > max", ["--trace", "--trace-min-samples", "50", "--trace-max-samples", "10"], {},
         ("--trace-min-samples", "--trace-max-samples")),
        ("--trace-block 0", ["--trace", "--trace-block", "0"], {}, "--trace-block"),
        ("--trace-method bogus", ["--trace", "--trace-method", "bogus"], {}, ("--trace-method", "bogus")),
        ("--probe bogus", ["--trace", "--probe", "bogus"], {}, ("--probe", "bogus")),
        ("--slq-steps 0", ["--density", "--slq-steps", "0"], {}, "--slq-steps"),
        ("--slq-runs -1", ["--density", "--slq-runs", "-1"], {}, "--slq-runs"),
        ("--num-bins 0", ["--density", "--num-bins", "0"], {}, "--num-bins"),
        ("--sigma -1", ["--density", "--kernel", "std", "--sigma", "-1"], {}, "--sigma"),
        ("--kernel bogus", ["--density", "--kernel", "bogus"], {}, ("--kernel", "bogus")),
        ("--batch-size -1", ["--batch-size", "-1"], {}, "--batch-size"),
        ("--which bogus", ["--which", "bogus"], {}, ("--which", "bogus")),
        ("--loss bogus", ["--loss", "bogus"], {}, ("--loss", "bogus")),
        ("--loss mse with class labels", ["--loss", "mse"], {}, "mse"),
        ("--reduction bogus", ["--reduction", "bogus"], {}, ("--reduction", "bogus")),
        ("--compat bogus", ["--compat", "bogus"], {}, "--compat"),
        ("--compat pyhessian --trace-method exact", ["--compat", "pyhessian", "--trace", "--trace-method", "exact"], {},
         ("--trace-method", "--compat")),
        ("--dtype float16", ["--dtype", "float16"], {}, "--dtype"),
        ("--device tpu", ["--device", "tpu"], {}, "tpu"),
        ("--param-filter invalid regex", ["--param-filter", "(unclosed"], {}, ("--param-filter", "(unclosed")),
        ("--param-filter matches nothing", ["--param-filter", "nothing_matches"], {}, "nothing_matches"),
        ("--weight-decay nan", ["--weight-decay", "nan"], {}, "--weight-decay"),
        ("--weight-decay inf", ["--weight-decay", "inf"], {}, "--weight-decay"),
        ("--graph-cache bogus", ["--graph-cache", "bogus"], {}, "--graph-cache"),
        ("--max-hvps -1", ["--max-hvps", "-1"], {}, "--max-hvps"),
        ("--max-seconds -2", ["--max-seconds", "-2"], {}, "--max-seconds"),
        ("--max-seconds nan", ["--max-seconds", "nan"], {}, "--max-seconds"),
        ("--dataset with --model/--data", ["--dataset", "synthetic"], {}, "--dataset"),
        ("--subset with --model/--data", ["--subset", "10"], {}, "--subset"),
        ("--checkpoint with --model/--data", ["--checkpoint", "ckdir"], {"ckdir": DIR}, "--checkpoint"),
        ("unknown flag --topk", ["--topk", "2"], {}, "--topk"),
    ])
    nod = T1 + ["hessian", "--out", "o", "--top-k", "1"]
    files = [
        ("--model missing file", ["--model", "nope.pt", "--data", d], {}, "nope.pt"),
        ("--model is a folder", ["--model", "mdir", "--data", d], {"mdir": DIR}, "mdir"),
        ("--model empty file", ["--model", "empty.pt", "--data", d], {"empty.pt": b""}, "empty.pt"),
        ("--model corrupt file", ["--model", "junk.pt", "--data", d], {"junk.pt": b"\x80\x02garbage" * 10}, "junk.pt"),
        ("--model truncated archive", ["--model", "half.pt", "--data", d], {"half.pt": ("trunc", m, 4000)}, "half.pt"),
        ("--model is a data file", ["--model", d, "--data", d], {}, "mlp_bn_data.pt"),
        ("--data missing file", ["--model", m, "--data", "nope.pt"], {}, "nope.pt"),
        ("--data is a folder", ["--model", m, "--data", "ddir"], {"ddir": DIR}, "ddir"),
        ("--data empty file", ["--model", m, "--data", "empty.pt"], {"empty.pt": b""}, "empty.pt"),
        ("--data corrupt file", ["--model", m, "--data", "junk.pt"], {"junk.pt": b"\x80\x02garbage" * 10}, "junk.pt"),
        ("--data is a model file", ["--model", m, "--data", m], {}, "mlp_bn.pt"),
        ("--data labels out of range", ["--model", m, "--data", os.path.join(fx, "bad_labels_data.pt")], {},
         "labels out of range"),
        ("--data of the wrong shape", ["--model", m, "--data", os.path.join(fx, "bad_shape_data.pt")], {},
         ("bad_shape_data.pt", "shape")),
        ("--data dict without 'x'", ["--model", m, "--data", "nox.pt"], {"nox.pt": ("torch_save_nox", d)}, "'x'"),
        ("--model without --data", ["--model", m], {}, "--data"),
        ("--data without --model", ["--data", d], {}, "--model"),
        ("neither --model nor --checkpoint", [], {}, ("--model", "--checkpoint")),
        ("--checkpoint missing", ["--checkpoint", "nope_run"], {}, "nope_run"),
        ("--checkpoint corrupt .pt", ["--checkpoint", "ck.pt"], {"ck.pt": b"PK\x03\x04 corrupt"}, "ck.pt"),
        ("--checkpoint truncated archive", ["--checkpoint", "half.pt"], {"half.pt": ("trunc", m, 4000)}, "half.pt"),
        ("--checkpoint folder without checkpoint", ["--checkpoint", "emptyrun"], {"emptyrun": DIR}, "emptyrun"),
    ]
    cases += flag_cases(e, x, nod, files)
    cases += [
        Case(e, "--split with --model/--data", x, base + ["--split", "test"], {}, ["--split"]),
        Case(e, "--subset-seed with --model/--data", x, base + ["--subset-seed", "3"], {}, ["--subset-seed"]),
        Case(e, "--data-dir with --model/--data", x, base + ["--data-dir", "ddir"], {"ddir": DIR}, ["--data-dir"]),
        Case(e, "--compat pyhessian --trace-method hutch++", x,
             base + ["--compat", "pyhessian", "--trace", "--trace-method", "hutch++"], {}, [("--trace-method", "--compat")]),
        Case(e, "--sigma-squared 0", x, base + ["--density", "--sigma-squared", "0"], {}, ["--sigma-squared"]),
        Case(e, "--data dict without 'y'", x, nod + ["--model", m, "--data", "noy.pt"],
             {"noy.pt": ("torch_save_drop", d, "y")}, ["'y'"]),
    ]
    cases += checkpoint_cases(e, x, nod)
    cases += out_dir_cases(e, x, lambda o: T1 + ["hessian", "--model", m, "--data", d, "--out", o, "--top-k", "1"], {})
    return cases


def _spec(fn):
    """A model.json mutation: fn(the model spec dict) in place; returns the whole model.json."""
    def f(mj):
        fn(mj["model"])
        return mj
    return f


def checkpoint_cases(e, x, nod):
    """hessian --checkpoint on (copies of) the files of a tiny `flatmin train` run of TRAIN (test_catalogue.py
    trains it once): weights that do not match the model spec, a bad model.json, bad data selections."""
    final = ("run_copy", "model_final.pt")
    mj = ("run_json", "model.json", lambda j: j)

    def with_mj(fn):
        return {"r/model_final.pt": final, "r/model.json": ("run_json", "model.json", fn)}

    def opts(**kw):
        return _spec(lambda sp: sp["options"].update(kw))

    def rename(old, new):
        return _spec(lambda sp: sp["options"].update({new: sp["options"].pop(old)}))

    ck = nod + ["--checkpoint", "r/model_final.pt"]
    run = {"r": DIR, "r/checkpoint.pt": ("run_copy", "checkpoint.pt"), "r/model_final.pt": final, "r/model.json": mj}
    rk = nod + ["--checkpoint", "r"]
    ok = ("r/model_final.pt", "tensor")
    return [
        Case(e, "--checkpoint weights width 4, model.json width1 8", x, ck, with_mj(opts(width1=8)), [ok, "do not match"]),
        Case(e, "--checkpoint weights width 4, model.json width2 16", x, ck, with_mj(opts(width2=16)), [ok, "do not match"]),
        Case(e, "--checkpoint weights hidden 8, model.json hidden 4", x, ck, with_mj(opts(hidden=4)), [ok, "do not match"]),
        Case(e, "--checkpoint model.json of another model (small_resnet)", x, ck,
             with_mj(_spec(lambda sp: (sp.update(name="small_resnet"), sp.update(options={})))), ["r/model_final.pt"]),
        Case(e, "--checkpoint model.json num_classes 7", x, ck, with_mj(_spec(lambda sp: sp.update(num_classes=7))),
             ["r/model_final.pt"]),
        Case(e, "--checkpoint model.json option typo widht1", x, ck, with_mj(rename("width1", "widht1")),
             ["did you mean 'width1'"]),
        Case(e, "--checkpoint model.json width1 = 0", x, ck, with_mj(opts(width1=0)), ["width1"]),
        Case(e, "--checkpoint model.json unknown model", x, ck, with_mj(_spec(lambda sp: sp.update(name="no_such_model"))),
             ["no_such_model"]),
        Case(e, "--checkpoint model.json without 'model'", x, ck, with_mj(lambda j: {"dataset": "synthetic"}),
             [("model.json", "'model'")]),
        Case(e, "--checkpoint model.json not JSON", x, ck, {"r/model_final.pt": final, "r/model.json": "{not json"},
             ["model.json"]),
        Case(e, "--checkpoint model_final.pt without model.json", x, ck, {"r/model_final.pt": final}, ["model.json"]),
        Case(e, "--checkpoint model.json input.std = [0.0]", x, ck,
             with_mj(lambda j: {**j, "input": {"mean": [0.5], "std": [0.0]}}), ["std"]),
        Case(e, "--checkpoint truncated checkpoint.pt", x, rk,
             {**run, "r/checkpoint.pt": ("run_trunc", "checkpoint.pt", 3000)}, ["checkpoint.pt"]),
        Case(e, "--checkpoint --subset larger than the split", x, rk + ["--subset", "100000"], run, ["--subset"]),
        Case(e, "--checkpoint --subset -3", x, rk + ["--subset", "-3"], run, ["--subset"]),
        Case(e, "--checkpoint --split validation", x, rk + ["--split", "validation"], run, ["--split"]),
        Case(e, "--checkpoint --dataset imagenet", x, rk + ["--dataset", "imagenet"], run, [("--dataset", "imagenet")]),
        Case(e, "--checkpoint --dataset fashion-mnist, --data-dir missing", x,
             rk + ["--dataset", "fashion-mnist", "--data-dir", "no_such_dir"], run, ["no_such_dir"]),
        Case(e, "--checkpoint with --compat pyhessian --trace-method exact", x,
             rk + ["--compat", "pyhessian", "--trace", "--trace-method", "exact"], run, [("--trace-method", "--compat")]),
        Case(e, "--checkpoint with --top-k larger than the parameters", x, rk + ["--top-k", "100000"], run, ["--top-k"]),
    ]


def hessian_controls(fx):
    m, d = os.path.join(fx, "mlp_bn.pt"), os.path.join(fx, "mlp_bn_data.pt")
    return [Control("flatmin hessian", "flatmin", T1 + ["hessian", "--model", m, "--data", d, "--out", "o", "--top-k", "1"])]


# ---------------------------------------------------------------------------------------------------
# flatmin reproduce (the repository's reproduce.json as its base; --only a target that takes a second)

def reproduce_cases(src):
    e, x = "flatmin reproduce", "flatmin"
    with open(os.path.join(src, "experiments", "configs", "reproduce.json")) as f:
        base = json.load(f)
    argv = T1 + ["reproduce", "--config", "r.json", "--profile", "smoke", "--only", "miadam_step_ratio", "--out", "res"]
    t0 = "miadam_step_ratio"
    specs = [
        (("targets",), [("wrong type", [])]),
        (("targets", t0, "paper"), [("wrong type", 1)]),
        (("targets", t0, "profiles"), [("wrong type", "smoke")]),
    ]
    cases = config_cases(e, x, argv, "r.json", base, specs)
    cases += typo_cases(e, x, argv, "r.json", base, [(("targets",), "targetz")])
    bad_t = copy.deepcopy(base)
    bad_t["targets"]["no_such_target"] = {"paper": "001"}
    cases.append(Case(e, "unknown target in the config", x, argv, {"r.json": bad_t}, ["no_such_target"]))
    bad_k = copy.deepcopy(base)
    bad_k["targets"][t0]["claimz"] = "x"
    cases.append(Case(e, "unknown key of a target", x, argv, {"r.json": bad_k}, ["claimz"]))
    bad_p = copy.deepcopy(base)
    bad_p["targets"][t0].setdefault("profiles", {})["smoke"] = {"no_such_key": 1}
    cases.append(Case(e, "unknown key in a target's profile", x, argv, {"r.json": bad_p}, ["no_such_key"]))
    good = {"r.json": base}
    rb = T1 + ["reproduce", "--config", "r.json", "--out", "res"]
    cases += flag_cases(e, x, rb, [
        ("--profile medium", ["--profile", "medium", "--only", t0], good, "--profile"),
        ("--only unknown target", ["--profile", "smoke", "--only", "miadam_step_ration"], good, "miadam_step_ration"),
        ("--only without a value", ["--profile", "smoke", "--only"], good, "--only"),
        ("--device tpu", ["--profile", "smoke", "--only", t0, "--device", "tpu"], good, "tpu"),
        ("--threads -1", ["--profile", "smoke", "--only", t0, "--threads", "-1"], good, "--threads"),
        ("unknown flag --target", ["--profile", "smoke", "--target", t0], good, "--target"),
    ])
    cases += config_file_cases(e, x, lambda p: T1 + ["reproduce", "--config", p, "--profile", "smoke", "--only", t0,
                                                      "--out", "res"])
    cases += out_dir_cases(e, x, lambda o: T1 + ["reproduce", "--config", "r.json", "--profile", "smoke", "--only", t0,
                                                 "--out", o], good)
    return cases


def reproduce_controls(src):
    with open(os.path.join(src, "experiments", "configs", "reproduce.json")) as f:
        base = json.load(f)
    return [Control("flatmin reproduce", "flatmin", T1 + ["reproduce", "--config", "r.json", "--profile", "smoke", "--only",
                                                          "miadam_step_ratio", "--out", "res"], {"r.json": base})]


# ---------------------------------------------------------------------------------------------------
# flatmin simulate

SIM = {
    "trajectories": {"landscape": {"name": "yang"}, "starts": [[5, 5]], "lrs": [0.1], "steps": 40, "steps_per_epoch": 10,
                     "tail": 10, "record_every": 5,
                     "optimizers": [{"name": "adam"}, {"name": "miadam1", "options": {"kappa": 0.9}}]},
    "study": {"landscape": {"name": "yang"}, "n": 3, "steps": 20, "steps_per_epoch": 10, "lr": 0.1,
              "optimizers": [{"name": "adam"}, {"name": "miadam1", "options": {"kappa": 0.9, "switch_epoch": 2}}]},
    "escape": {"well": {"delta_L": 1, "k": 1, "B": 0.1, "start": -1, "absorb": 0.5}, "paths": 20, "max_steps": 2000,
               "seed": 1, "optimizers": [{"name": "sgd", "options": {"lr": 0.01}}]},
    "regret": {"T": 100, "alpha0": 0.1, "power": 0.5},
}


def simulate_cases():
    x = "flatmin"
    cases = []

    def argv(kind):
        return T1 + ["simulate", kind, "--config", "sim.json", "--out", "o"]

    tr = [
        (("landscape", "name"), [("unknown landscape", "yangg", ("yangg", "landscape"))]),
        (("landscape",), [("wrong type", 5)]),
        (("starts",), [("a point with one coordinate", [[5]], "starts"), ("wrong type", "5,5"), ("non-numbers", [["a", "b"]], "starts")]),
        (("lrs",), [("= [-0.1]", [-0.1]), ("empty", [])]),
        (("steps",), int_variants([0, -1], huge=True)),
        (("steps_per_epoch",), [("= 0", 0)]),
        (("tail",), [("= -1", -1)]),
        (("record_every",), [("= 0", 0)]),
        (("noise_std",), num_variants([-1.0], wrong_type=False)),
        (("capture_radius",), [("= -0.25", -0.25)]),
        (("box_lo",), [("= 7 (> box_hi)", 7.0, ("box_lo", "box_hi"))]),
        (("landscape_grid_step",), [("= 0", 0.0)]),
        (("optimizers",), [("empty", []), ("wrong type", "adam")]),
        (("optimizers", 0, "name"), [("unknown optimizer", "adamm", "did you mean 'adam'")]),
        (("optimizers", 1, "options", "kappa"), [("= 1.5", 1.5), ("= 0", 0.0)]),
        (("optimizers", 1, "options"), [("unknown option kapa", {"kapa": 0.9}, "kapa")]),
    ]
    cases += config_cases("flatmin simulate trajectories", x, argv("trajectories"), "sim.json", SIM["trajectories"], tr)
    mw = mutate(SIM["trajectories"], ("landscape",), {"name": "multiwell", "wells": [{"centre": 0, "width": 0, "depth": 1}]})
    cases.append(Case("flatmin simulate trajectories", "multiwell width 0", x, argv("trajectories"), {"sim.json": mw}, ["width"]))
    mw = mutate(SIM["trajectories"], ("landscape",), {"name": "multiwell", "confinement": -1})
    cases.append(Case("flatmin simulate trajectories", "multiwell confinement -1", x, argv("trajectories"), {"sim.json": mw},
                      ["confinement"]))
    cases += typo_cases("flatmin simulate trajectories", x, argv("trajectories"), "sim.json", SIM["trajectories"],
                        [(("steps",), "stepz"), (("record_every",), "recordevery")])
    st = [
        (("n",), int_variants([0], huge=True)),
        (("lo",), [("= 7 (>= hi)", 7.0, ("lo", "hi"))]),
        (("hist_bins",), [("= 0", 0)]),
        (("lr",), num_variants([-0.1])),
        (("steps",), [("= -5", -5)]),
        (("optimizers",), [("wrong type", {"name": "adam"})]),
    ]
    cases += config_cases("flatmin simulate study", x, argv("study"), "sim.json", SIM["study"], st)
    cases += typo_cases("flatmin simulate study", x, argv("study"), "sim.json", SIM["study"], [(("n",), "nn")])
    es = [
        (("paths",), int_variants([0, -1], huge=True)),
        (("max_steps",), int_variants([0], fractional=False) + [("= 10**18 (huge count)", 10**18)]),
        (("well", "k"), [("= 0", 0.0), ("= -1", -1.0)]),
        (("well", "B"), [("= 0", 0.0)]),
        (("well", "delta_L"), num_variants([-1.0], wrong_type=False)),
        (("well", "start"), [("= 1 (beyond absorb)", 1.0, ("start", "absorb"))]),
        (("noise",), [("unknown noise", "pink", ("pink", "noise"))]),
        (("optimizers", 0, "options", "lr"), [("= -0.01", -0.01)]),
    ]
    cases += config_cases("flatmin simulate escape", x, argv("escape"), "sim.json", SIM["escape"], es)
    cases += typo_cases("flatmin simulate escape", x, argv("escape"), "sim.json", SIM["escape"],
                        [(("well", "delta_L"), "delta_l"), (("paths",), "pahts")])
    rg = [
        (("T",), int_variants([0, -1], huge=True)),
        (("alpha0",), num_variants([-0.1])),
        (("power",), [("= -1", -1.0)]),
        (("checkpoints",), [("= [0]", [0]), ("wrong type", "10")]),
        (("optimizers",), [("unknown optimizer", [{"name": "adamz"}], "did you mean 'adam'")]),
    ]
    cases += config_cases("flatmin simulate regret", x, argv("regret"), "sim.json", SIM["regret"], rg)
    cases += typo_cases("flatmin simulate regret", x, argv("regret"), "sim.json", SIM["regret"], [(("alpha0",), "alpha_0")])
    e = "flatmin simulate"
    good = {"sim.json": SIM["trajectories"]}
    cases += [
        Case(e, "unknown kind", x, T1 + ["simulate", "trajectory", "--config", "sim.json", "--out", "o"], good, ["trajectory"]),
        Case(e, "no kind", x, T1 + ["simulate", "--config", "sim.json", "--out", "o"], good, ["kind"]),
        Case(e, "--device tpu", x, argv("trajectories") + ["--device", "tpu"], good, ["tpu"]),
        Case(e, "no --out", x, T1 + ["simulate", "trajectories", "--config", "sim.json"], good, ["--out"]),
        Case(e, "unknown flag --steps", x, argv("trajectories") + ["--steps", "5"], good, ["--steps"]),
    ]
    cases += config_file_cases(e, x, lambda p: T1 + ["simulate", "trajectories", "--config", p, "--out", "o"])
    for kind in ("trajectories", "study", "escape", "regret"):
        k = {"sim.json": SIM[kind]}
        outs = out_dir_cases(f"flatmin simulate {kind}", x,
                             lambda o, kind=kind: T1 + ["simulate", kind, "--config", "sim.json", "--out", o], k)
        cases += outs if kind == "trajectories" else outs[:1]
    return cases


def simulate_controls():
    return [Control(f"flatmin simulate {k}", "flatmin", T1 + ["simulate", k, "--config", "sim.json", "--out", "o"],
                    {"sim.json": v}) for k, v in SIM.items()]


# ---------------------------------------------------------------------------------------------------
# flatmin optim-replay (the spec of tests/python/test_optim.py's spec_for, docs/optim-replay.md)

REPLAY = {"optimizer": "miadam2", "options": {"lr": 0.01, "betas": [0.9, 0.999], "kappa": 0.9, "switch_epoch": 3},
          "params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
          "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
          "steps": 12, "steps_per_epoch": 2,
          "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}}


def replay_cases():
    e, x = "flatmin optim-replay", "flatmin"
    argv = T1 + ["optim-replay", "--spec", "spec.json", "--out", "t.csv"]
    specs = [
        (("optimizer",), [("missing", DELETE), ("typo miadm2", "miadm2", "did you mean 'miadam2'"), ("wrong type", 2)]),
        (("options", "lr"), num_variants([-1.0])),
        (("options", "kappa"), [("= 1.5", 1.5), ("= 0", 0.0), ('= "nan"', "nan")]),
        (("options", "betas"), [("= [0.9, 1.0]", [0.9, 1.0], "betas"), ("one value", [0.9], "betas"),
                                ("wrong type", 0.9, "betas")]),
        (("options", "eps"), [("= -1", -1.0)]),
        (("options", "switch_epoch"), [("= 1.5", 1.5)]),
        (("options",), [("unknown option kapa", {"kapa": 0.9}, "did you mean 'kappa'"), ("wrong type", [0.01])]),
        (("params",), [("missing", DELETE), ("empty", []), ("wrong type", 1.0)]),
        (("params", 0), [("empty parameter", [], "params"), ("non-number", [1.0, "x", 0.5], "params"),
                         ('"nan" string', [1.0, "nan", 0.5], "params"), ("1e999", [1.0, Raw("1e999"), 0.5], "spec.json")]),
        (("groups",), [("wrong type", {"params": [0, 1]})]),
        (("groups", 0, "params"), [("index out of range", [5], ("5", "params")), ("duplicate parameter", [0, 1], ("1", "group")),
                                   ("negative index", [-1], ("-1", "params"))]),
        (("groups", 1, "params"), [("a parameter in no group", [], ("1", "group"))]),
        (("groups", 1, "options", "lr"), [("= -0.02", -0.02)]),
        (("groups", 1, "options"), [("unknown option lrr", {"lrr": 0.02}, "did you mean 'lr'")]),
        (("steps",), [("missing", DELETE)] + int_variants([-1], huge=True) + [("= 10000001 (over the bound)", 10000001)]),
        (("steps_per_epoch",), [("= 0", 0), ("= -1", -1)]),
        (("quadratic",), [("neither grads nor quadratic", DELETE, ("grads", "quadratic"))]),
        (("quadratic", "a"), [("wrong shape", [[1.0, 2.0], [0.5, 0.5]], "a"), ("missing", DELETE)]),
        (("quadratic", "c"), [("wrong type", "zero")]),
    ]
    cases = config_cases(e, x, argv, "spec.json", REPLAY, specs)
    both = {**REPLAY, "grads": [[[0.1, 0.1, 0.1], [0.1, 0.1]]] * 12}
    cases.append(Case(e, "both grads and quadratic", x, argv, {"spec.json": both}, [("grads", "quadratic")]))
    g = {k: v for k, v in REPLAY.items() if k != "quadratic"}
    cases.append(Case(e, "grads shorter than steps", x, argv, {"spec.json": {**g, "grads": [[[0.1] * 3, [0.1] * 2]] * 3}},
                      ["grads"]))
    cases.append(Case(e, "grads of the wrong shape", x, argv, {"spec.json": {**g, "grads": [[[0.1] * 2, [0.1] * 2]] * 12}},
                      ["grads"]))
    cases += typo_cases(e, x, argv, "spec.json", REPLAY, [(("steps",), "stepz"), (("quadratic",), "quadratik")])
    good = {"spec.json": REPLAY}
    cases += [
        Case(e, "no --out", x, T1 + ["optim-replay", "--spec", "spec.json"], good, ["--out"]),
        Case(e, "no --spec", x, T1 + ["optim-replay", "--out", "t.csv"], {}, ["--spec"]),
        Case(e, "unknown flag --steps", x, argv + ["--steps", "3"], good, ["--steps"]),
    ]
    cases += config_file_cases(e, x, lambda p: T1 + ["optim-replay", "--spec", p, "--out", "t.csv"], flag="--spec")
    cases += out_file_cases(e, x, lambda o: T1 + ["optim-replay", "--spec", "spec.json", "--out", o], good)
    return cases


def replay_controls():
    return [Control("flatmin optim-replay", "flatmin", T1 + ["optim-replay", "--spec", "spec.json", "--out", "t.csv"],
                    {"spec.json": REPLAY})]


# ---------------------------------------------------------------------------------------------------
# flatmin list-optimizers and the executable itself

def flatmin_misc_cases():
    x = "flatmin"
    e = "flatmin list-optimizers"
    cases = [
        Case(e, "--options unknown name", x, ["list-optimizers", "--options", "miadm"], {}, ["did you mean 'miadam'"]),
        Case(e, "--options without a value", x, ["list-optimizers", "--options"], {}, ["--options"]),
        Case(e, "--json --options unknown name", x, ["list-optimizers", "--json", "--options", "adamz"], {}, ["adamz"]),
        Case(e, "unknown flag --all", x, ["list-optimizers", "--all"], {}, ["--all"]),
        Case(e, "extra argument", x, ["list-optimizers", "adam"], {}, ["adam"]),
        Case(e, "--options empty name", x, ["list-optimizers", "--options", ""], {}, ["--options"]),
    ]
    e = "flatmin (executable)"
    cases += [
        Case(e, "no subcommand", x, [], {}, ["subcommand"]),
        Case(e, "unknown subcommand trian", x, ["trian"], {}, ["trian"]),
        Case(e, "--threads -1", x, ["--threads", "-1", "list-optimizers"], {}, ["--threads"]),
        Case(e, "--threads abc", x, ["--threads", "abc", "list-optimizers"], {}, ["--threads"]),
        Case(e, "--threads 1e18", x, ["--threads", "1e18", "list-optimizers"], {}, ["--threads", "not an integer"]),
        Case(e, "unknown global flag", x, ["--thread", "1", "list-optimizers"], {}, ["--thread"]),
    ]
    return cases


# ---------------------------------------------------------------------------------------------------
# flatmin-theory

ESCAPE = {"landscape": {"type": "double_well", "dL": 1, "k": 1.5}, "noise": "sgd_shaped", "dynamics": "sgd", "lr": 0.1,
          "batch": 1, "beta1": 0, "dt": 0.002, "paths": 32, "seed": 3, "t_max": 1000, "threads": 1}
TSWEEP = {"defaults": {"paths": 16, "seed": 2, "dt": 0.002, "threads": 1},
          "studies": [{"name": "s", "axis": "B_over_eta", "vary": "lr", "values": [0.12, 0.1], "base": {"dynamics": "sgd"}}]}
REGRET = {"problem": "noisy_quadratic", "target": 1.0, "sigma": 0.5, "a_width": 0.5, "T": 2000, "alpha": 0.1, "h": 0.5,
          "beta1": 0.9, "lambda": 1.0, "beta2": 0.999, "eps": 1e-8, "reps": 4, "seed": 1,
          "optimizers": [{"name": "adam"}, {"name": "miadam1", "kappa": 0.98}]}
FLOW = {"landscape": {"type": "yang"}, "start": [0.5, 1.6], "dynamics": "adam", "lr": 0.01, "t_end": 2, "t_out": 0.1}
VALIDATE = {"defaults": {"paths": 20, "seed": 1},
            "oracle_checks": [{"claim": "q", "config": {"lr": 0.1}, "reference": 44.0, "sig": 3}],
            "mc_checks": [{"claim": "m", "config": {"lr": 0.1}}],
            "regret": {"T": 1000},
            "yang": {"reference": {"dL": 7.0591}, "sig": 4}}


def theory_cases():
    x = "flatmin-theory"
    cases = []

    def argv(sub):
        return T1 + [sub, "--config", "c.json", "--out", "o"]

    e = "flatmin-theory escape-time"
    es = [
        (("landscape", "type"), [("unknown landscape", "tripple_well", ("tripple_well", "type"))]),
        (("landscape", "dL"), num_variants([-1.0, 0.0])),
        (("landscape", "k"), [("= 0", 0.0), ("= -1", -1.0), ("wrong type (true)", True)]),
        (("landscape",), [("wrong type", 3)]),
        (("noise",), [("unknown noise", "pink", ("pink", "noise")), ("white with T = 0", {"type": "white", "T": 0}, "T"),
                      ("white with T = -1", {"type": "white", "T": -1.0}, "T")]),
        (("dynamics",), [("unknown dynamics", "lion", ("lion", "dynamics")), ("wrong type", 3)]),
        (("lr",), num_variants([-0.1, 0.0])),
        (("batch",), [("= 0", 0), ("= -1", -1)]),
        (("beta1",), [("= 1.5", 1.5), ("= -0.1", -0.1)]),
        (("dt",), num_variants([0.0, -0.01], wrong_type=False) + [("= 0.5 (curvature·dt ≥ 0.5)", 0.5)]),
        (("paths",), int_variants([1, 0], huge=True)),
        (("seed",), [("wrong type", "x")]),
        (("t_max",), [("= 0", 0.0), ("= -1", -1.0)]),
        (("threads",), [("= -1", -1)]),
        (("kappa",), [("= 0", 0.0), ("= 1.5", 1.5)]),
        (("order",), [("= 0", 0), ("= 1.5", 1.5)]),
        (("survival_points",), [("= 0", 0), ("= -1", -1)]),
        (("quadrature_intervals",), [("= 0", 0), ("= 10**18 (huge count)", 10**18)]),
        (("start",), [("= 2 (beyond the saddle)", 2.0, "start")]),
    ]
    cases += config_cases(e, x, argv("escape-time"), "c.json", ESCAPE, es)
    more = [
        ("quadratic_double_well d = 9", {"landscape": {"type": "quadratic_double_well", "d": 9}}, "d"),
        ("quadratic_double_well d = 0", {"landscape": {"type": "quadratic_double_well", "d": 0}}, "d"),
        ("quadratic_double_well lambda of the wrong length",
         {"landscape": {"type": "quadratic_double_well", "d": 3, "lambda": [2]}, "noise": "white", "T": 0.5}, "lambda"),
        ("yang with sgd_shaped noise", {"landscape": {"type": "yang"}, "noise": "sgd_shaped"}, ("sgd_shaped", "noise")),
        ("polynomial of odd degree", {"landscape": {"type": "polynomial", "coeffs": [0, 1, 0, -1], "minimum": -0.5,
                                                    "saddle": 0.5}, "noise": "white"}, ("coeffs", "degree")),
        ("polynomial with a negative leading coefficient", {"landscape": {"type": "polynomial", "coeffs": [0, 0, 2, 0, -1],
                                                                          "minimum": -1, "saddle": 0}, "noise": "white"},
         ("coeffs", "leading")),
        ("polynomial coeffs wrong type", {"landscape": {"type": "polynomial", "coeffs": "x^4"}, "noise": "white"}, "coeffs"),
    ]
    for label, cfg, exp in more:
        cases.append(Case(e, label, x, argv("escape-time"), {"c.json": cfg}, [exp]))
    cases += typo_cases(e, x, argv("escape-time"), "c.json", ESCAPE,
                        [(("dt",), "dtt"), (("landscape", "dL"), "dl"), (("paths",), "pahts"), (("t_max",), "tmax")])
    good = {"c.json": ESCAPE}
    cases += [
        Case(e, "no --out", x, T1 + ["escape-time", "--config", "c.json"], good, ["--out"]),
        Case(e, "unknown flag --paths", x, argv("escape-time") + ["--paths", "5"], good, ["--paths"]),
    ]
    cases += config_file_cases(e, x, lambda p: T1 + ["escape-time", "--config", p, "--out", "o"])
    cases += out_dir_cases(e, x, lambda o: T1 + ["escape-time", "--config", "c.json", "--out", o], good)

    e = "flatmin-theory sweep"
    sw = [
        (("studies",), [("empty", []), ("wrong type", {})]),
        (("studies", 0, "axis"), [("unknown axis", "nope", ("nope", "axis"))]),
        (("studies", 0, "vary"), [("unknown vary", "temperature", ("temperature", "vary"))]),
        (("studies", 0, "values"), [("one value", [0.1]), ("empty", []), ("non-numbers", ["x", "y"]), ("wrong type", 1)]),
        (("studies", 0, "rel_tol"), [("= -1", -1.0)]),
        (("studies", 0, "name"), [("path traversal ../../evil", "../../evil", "name"), ("wrong type", 3)]),
        (("studies", 0, "base", "dynamics"), [("unknown dynamics (in base)", "lion", ("lion", "dynamics"))]),
        (("defaults", "paths"), [("= 0 (in defaults)", 0, "paths")]),
    ]
    cases += config_cases(e, x, argv("sweep"), "c.json", TSWEEP, sw)
    cases += typo_cases(e, x, argv("sweep"), "c.json", TSWEEP, [(("defaults",), "default"), (("studies", 0, "name"), "nme")])
    cases += config_file_cases(e, x, lambda p: T1 + ["sweep", "--config", p, "--out", "o"])[:2]
    cases += out_dir_cases(e, x, lambda o: T1 + ["sweep", "--config", "c.json", "--out", o], {"c.json": TSWEEP})[:1]

    e = "flatmin-theory regret"
    rg = [
        (("problem",), [("unknown problem", "cubic", ("cubic", "problem"))]),
        (("T",), int_variants([0, -1], huge=True)),
        (("alpha",), num_variants([-0.1])),
        (("h",), [("= -1", -1.0)]),
        (("beta1",), [("= 1.5", 1.5), ("= -0.1", -0.1)]),
        (("beta2",), [("= 1.5", 1.5)]),
        (("eps",), [("= -1e-8", -1e-8)]),
        (("lambda",), [("= 1.5", 1.5)]),
        (("reps",), [("= 0", 0), ("= 10**18 (huge count)", 10**18)]),
        (("sigma",), [("= -0.5", -0.5)]),
        (("a_width",), [("= 1.5", 1.5)]),
        (("optimizers",), [("empty", []), ("unknown optimizer", [{"name": "sgd"}], "sgd")]),
        (("optimizers", 1, "kappa"), [("= 0", 0.0), ("= 1.5", 1.5)]),
    ]
    cases += config_cases(e, x, argv("regret"), "c.json", REGRET, rg)
    cases += typo_cases(e, x, argv("regret"), "c.json", REGRET, [(("beta1",), "betaa1"), (("optimizers", 0, "name"), "nam")])
    cases += config_file_cases(e, x, lambda p: T1 + ["regret", "--config", p, "--out", "o"])[:2]
    cases += out_dir_cases(e, x, lambda o: T1 + ["regret", "--config", "c.json", "--out", o], {"c.json": REGRET})[:1]

    e = "flatmin-theory flow"
    fl = [
        (("landscape", "type"), [("unknown landscape", "bowl", ("bowl", "type"))]),
        (("start",), [("one coordinate for yang", [1.0], "start"), ("wrong type", "x")]),
        (("dynamics",), [("unknown dynamics", "lion", ("lion", "dynamics"))]),
        (("t_end",), num_variants([-1.0, 0.0], wrong_type=False)),
        (("t_out",), [("= 0", 0.0), ("= -0.1", -0.1)]),
        (("lr",), [("= -0.01", -0.01)]),
        (("kappa",), [("= 1.5", 1.5)]),
        (("order",), [("= 0", 0)]),
        (("abs_tol",), [("= 0", 0.0), ("= -1", -1.0)]),
        (("rel_tol",), [("= -1", -1.0)]),
    ]
    cases += config_cases(e, x, argv("flow"), "c.json", FLOW, fl)
    cases += typo_cases(e, x, argv("flow"), "c.json", FLOW, [(("dynamics",), "dynamic")])
    cases += config_file_cases(e, x, lambda p: T1 + ["flow", "--config", p, "--out", "o"])[:2]
    cases += out_dir_cases(e, x, lambda o: T1 + ["flow", "--config", "c.json", "--out", o], {"c.json": FLOW})

    e = "flatmin-theory validate"
    va = T1 + ["validate", "--profile", "quick", "--config", "c.json", "--out", "o"]
    vl = [
        (("defaults", "paths"), [("= 0 (in defaults)", 0, "paths"), ("wrong type", "many", "paths")]),
        (("oracle_checks", 0, "config", "lr"), [("= -0.1 (in a check)", -0.1, "lr")]),
        (("oracle_checks",), [("wrong type", {"claim": "q"})]),
        (("regret", "T"), [("= 0 (regret section)", 0, "T")]),
    ]
    cases += config_cases(e, x, va, "c.json", VALIDATE, vl)
    cases.append(Case(e, "max_particle_steps wrong type", x, va, {"c.json": {**VALIDATE, "max_particle_steps": "1"}},
                      ["max_particle_steps"]))
    cases.append(Case(e, "typo mc_check", x, va, {"c.json": {**VALIDATE, "mc_check": []}}, ["did you mean 'mc_checks'"]))
    cases.append(Case(e, "mc_checks entry typo confg", x, va, {"c.json": {**VALIDATE, "mc_checks": [{"confg": {}}]}},
                      ["did you mean 'config'"]))
    cases.append(Case(e, "--profile medium", x, T1 + ["validate", "--profile", "medium", "--config", "c.json", "--out", "o"],
                      {"c.json": VALIDATE}, ["--profile"]))
    cases += config_file_cases(e, x, lambda p: T1 + ["validate", "--profile", "quick", "--config", p, "--out", "o"])[:3]
    cases += out_dir_cases(e, x, lambda o: T1 + ["validate", "--profile", "quick", "--config", "c.json", "--out", o],
                           {"c.json": VALIDATE})

    e = "flatmin-theory miadam-gain"
    g = T1 + ["miadam-gain", "--out", "g.csv"]
    cases += flag_cases(e, x, g, [
        ("--kappa 0", ["--kappa", "0"], {}, "kappa"),
        ("--kappa 1.5", ["--kappa", "1.5"], {}, "kappa"),
        ("--kappa -1", ["--kappa", "-1"], {}, "kappa"),
        ("--kappa nan", ["--kappa", "nan"], {}, "kappa"),
        ("--kappa inf", ["--kappa", "inf"], {}, "kappa"),
        ("--kappa abc", ["--kappa", "abc"], {}, "--kappa"),
        ("--order 0", ["--order", "0"], {}, "--order"),
        ("--order 2.5", ["--order", "2.5"], {}, "--order"),
        ("--steps 0", ["--steps", "0"], {}, "--steps"),
        ("--steps -1", ["--steps", "-1"], {}, "--steps"),
        ("--steps 1e18", ["--steps", "1e18"], {}, "--steps", "not an integer"),
        ("--steps 1000000000000000000 (huge count)", ["--steps", "1000000000000000000"], {}, "--steps"),
        ("--lr -1", ["--lr", "-1"], {}, "lr"),
        ("--lr nan", ["--lr", "nan"], {}, "lr"),
        ("--lr inf", ["--lr", "inf"], {}, "lr"),
        ("unknown flag --kapa", ["--kapa", "0.9"], {}, "--kapa"),
    ])
    cases.append(Case(e, "no --out", x, T1 + ["miadam-gain", "--kappa", "0.9"], {}, ["--out"]))
    cases += out_file_cases(e, x, lambda o: T1 + ["miadam-gain", "--steps", "10", "--out", o], {})

    e = "flatmin-theory (executable)"
    cases += [
        Case(e, "no subcommand", x, [], {}, ["subcommand"]),
        Case(e, "unknown subcommand escape", x, ["escape", "--config", "c.json", "--out", "o"], good, ["escape"]),
        Case(e, "--threads -1", x, ["--threads", "-1", "escape-time", "--config", "c.json", "--out", "o"], good, ["--threads"]),
        Case(e, "--threads abc", x, ["--threads", "abc", "escape-time", "--config", "c.json", "--out", "o"], good, ["--threads"]),
    ]
    return cases


def theory_controls():
    x = "flatmin-theory"
    ctl = [Control(f"flatmin-theory {s}", x, T1 + [s, "--config", "c.json", "--out", "o"], {"c.json": c})
           for s, c in (("escape-time", ESCAPE), ("sweep", TSWEEP), ("regret", REGRET), ("flow", FLOW))]
    ctl.append(Control("flatmin-theory validate", x, T1 + ["validate", "--profile", "quick", "--config", "c.json", "--out", "o"],
                       {"c.json": VALIDATE}))
    ctl.append(Control("flatmin-theory miadam-gain", x, T1 + ["miadam-gain", "--steps", "10", "--out", "g.csv"]))
    return ctl


def all_cases(src, fx):
    cases = (train_cases() + sweep_cases() + hessian_cases(fx) + reproduce_cases(src) + simulate_cases() + replay_cases()
             + flatmin_misc_cases() + theory_cases())
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids: {sorted(dup)}"
    return cases


def all_controls(src, fx):
    return (train_controls() + sweep_controls() + hessian_controls(fx) + reproduce_controls(src) + simulate_controls()
            + replay_controls() + theory_controls())
