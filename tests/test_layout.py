"""The package layout is the data's path: each stage imports only earlier stages, through their package roots;
inference and export import nothing from training; no two files import each other (directly or round a longer
loop); argparse only in kit/cli/; checkpoints written by earlier layouts still load and predict the same."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "kit"
GOLDEN = Path(__file__).parent / "golden"

# rank of each stage: a module may import modules of its own rank or lower, never higher
STAGES = {
    "kit": 0, "kit.utils": 0, "kit.mounts": 0, "kit.config": 0, "kit.metrics": 0, "kit.formats": 0,
    "kit.softlabels": 0,
    "kit.audio": 1, "kit.features": 2, "kit.models": 3, "kit.checkpoint": 3, "kit.foreign": 3,
    "kit.train": 4, "kit.export": 5, "kit.infer": 6, "kit.pipeline": 7, "kit.compete": 8, "kit.bench": 9,
    "kit.cli": 10, "kit.__main__": 10,
}
SUBPACKAGES = ("kit.audio", "kit.features", "kit.models", "kit.foreign", "kit.train", "kit.export", "kit.infer",
               "kit.pipeline", "kit.compete", "kit.bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    """The stage a module belongs to: its subpackage, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def kit_imports(path: Path) -> list:
    """[(line, imported module, [names])] of every kit import in the file, at any depth (lazy ones too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "kit"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "kit":
            out.append((node.lineno, node.module, [a.name for a in node.names]))
    return out


def all_modules() -> list:
    return sorted((module_name(p), p) for p in KIT.rglob("*.py"))


def test_every_module_belongs_to_a_stage():
    unknown = [m for m, _ in all_modules() if stage_of(m) not in STAGES]
    assert not unknown, f"modules outside the known stages (add them to STAGES in tests/test_layout.py): {unknown}"


def test_imports_run_one_way_down_the_stages():
    wrong = []
    for module, path in all_modules():
        for line, target, names in kit_imports(path):
            targets = [target] + [f"{target}.{n}" for n in names if f"{target}.{n}" in dict(all_modules())]
            for t in targets:
                if STAGES[stage_of(t)] > STAGES[stage_of(module)]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} ({stage_of(module)}) imports {t}")
    assert not wrong, "earlier stages import later ones:\n" + "\n".join(wrong)


def test_inference_and_export_import_nothing_from_training_or_the_cli():
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {t}" for m, p in all_modules()
             if stage_of(m) in ("kit.infer", "kit.export") for line, t, _ in kit_imports(p)
             if stage_of(t) in ("kit.train", "kit.pipeline", "kit.cli", "kit.compete", "kit.bench")]
    assert not wrong, "\n".join(wrong)


def file_edges() -> dict:
    """{module: {modules it imports}} between files, lazy imports included. `from kit.pkg import name` points at
    the submodule `name` is (or the one kit/pkg/__init__.py takes it from); package roots only re-export, so
    their own edges are left out."""
    modules = dict(all_modules())
    origin = {}  # (package, name) -> the submodule __init__ imports it from
    for module, path in modules.items():
        if path.name == "__init__.py":
            for _, target, names in kit_imports(path):
                origin.update({(module, n): target for n in names if target.startswith(module + ".")})
    edges = {}
    for module, path in modules.items():
        if path.name == "__init__.py":
            continue
        for _, target, names in kit_imports(path):
            for name in names or [None]:
                if name is not None and f"{target}.{name}" in modules:
                    dest = f"{target}.{name}"
                else:
                    dest = origin.get((target, name), target)
                if dest in modules and dest != module and modules[dest].name != "__init__.py":
                    edges.setdefault(module, set()).add(dest)
    return edges


def import_cycles(edges: dict) -> list:
    """Every strongly connected group of two or more files (Tarjan's algorithm), sorted."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(groups)


def test_import_cycle_finder_finds_a_planted_loop():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_files_import_each_other():
    edges = file_edges()
    assert edges["kit.pipeline.rounds"] >= {"kit.infer.pseudo", "kit.pipeline.run"}  # the edges are read
    cycles = import_cycles(edges)
    assert not cycles, "files that import each other (directly or round a loop):\n" + "\n".join(map(str, cycles))


def test_argparse_only_in_the_cli_folder():
    wrong = [str(p.relative_to(ROOT)) for m, p in all_modules()
             if stage_of(m) not in ("kit.cli",) and "argparse" in p.read_text()
             and any(isinstance(n, (ast.Import, ast.ImportFrom)) and "argparse" in ast.dump(n)
                     for n in ast.walk(ast.parse(p.read_text())))]
    assert not wrong, f"argparse outside kit/cli/: {wrong}"


def test_no_kit_environment_variables_in_the_package():
    """Settings come from the config, command-line flags or function arguments; KIT_* variables are the
    notebooks' first cell's only (they map them onto the same keys and flags)."""
    import re

    wrong = [f"{p.relative_to(ROOT)}: {sorted(set(found))}" for _, p in all_modules()
             if (found := re.findall(r"KIT_[A-Z_]+", p.read_text()))]
    assert not wrong, "\n".join(wrong)


def test_other_stages_import_a_subpackage_only_through_its_root():
    """`from kit.audio import load_audio`, never `from kit.audio.io import ...` from another stage, and only
    names the root exports in __all__."""
    import importlib

    wrong = []
    for module, path in all_modules():
        for line, target, names in kit_imports(path):
            stage = stage_of(target)
            if stage not in SUBPACKAGES or stage == stage_of(module):
                continue
            exported = importlib.import_module(stage).__all__
            if target != stage or not names or any(n not in exported for n in names):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: from {target} import {', '.join(names) or '*'}")
    assert not wrong, "cross-stage imports that bypass the package root or its __all__:\n" + "\n".join(wrong)


def test_each_stage_package_says_what_it_holds():
    import importlib

    for name in SUBPACKAGES:
        package = importlib.import_module(name)
        assert package.__doc__ and len(package.__doc__.split()) >= 20, f"{name}/__init__.py needs a docstring"
        assert package.__all__ and all(hasattr(package, n) for n in package.__all__), name


def test_no_file_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for _, p in all_modules() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"files over 400 lines: {long}"


def test_a_checkpoint_saved_by_the_flat_layout_loads_and_predicts(shared_data):
    """tests/golden/flat_layout_0.1.0.ckpt was written by kit 0.1.0 before the stage subpackages existed (one
    flat folder of modules); its probabilities on four real windows were recorded beside it."""
    from kit.audio import iter_windows
    from kit.checkpoint import load_model

    expected = json.loads((GOLDEN / "flat_layout_0.1.0.json").read_text())
    model, ckpt = load_model(GOLDEN / "flat_layout_0.1.0.ckpt")
    assert ckpt.labels == expected["labels"] and ckpt.kit_version == "0.1.0"
    batch = next(iter(iter_windows(shared_data / expected["audio"], ckpt.config.audio, expected["windows"])))
    with torch.no_grad():
        probs = torch.sigmoid(model(torch.from_numpy(batch.crops)[:, None])).numpy()
    np.testing.assert_allclose(probs, np.asarray(expected["probs"]), atol=1e-5)


def test_a_checkpoint_of_kit_0_2_loads_and_predicts_as_it_did(shared_data):
    """tests/golden/layout_0.2.0.ckpt was written by kit 0.2.0 (tests/golden/make_layout_0_2_0.py), before the
    workflow layer, the `pseudo` section and the renamed keys; its config sets those keys away from their
    defaults. It loads (the keys read under their new names), and predict_soundscapes gives its recorded
    probabilities."""
    from kit.checkpoint import load_checkpoint
    from kit.infer import predict_soundscapes

    expected = json.loads((GOLDEN / "layout_0.2.0.json").read_text())
    ckpt = load_checkpoint(GOLDEN / "layout_0.2.0.ckpt")
    old = expected["config"]
    assert ckpt.kit_version == "0.2.0" and ckpt.labels == expected["labels"] == ["0125", "dog", "frog"]
    assert ckpt.config.audio.crops_per_recording == old["audio"]["melspecs_per_audio"] == 2
    assert ckpt.config.data.data_fraction == old["data"]["data_percentage"] == 0.5
    assert ckpt.config.data.valid_frac == 0.0 and old["data"]["validate_on_train"] is True
    assert ckpt.config.pseudo.pseudo_mixup_p == old["data"]["pseudo_mixup_p"] == 0.25
    assert (ckpt.config.pseudo.pseudo_init, ckpt.config.pseudo.pseudo_jitter_s) == ("scratch", 0.5)
    frame = predict_soundscapes([GOLDEN / "layout_0.2.0.ckpt"], [shared_data / expected["audio"]], device="cpu")
    assert list(frame["row_id"]) == expected["row_ids"]
    np.testing.assert_allclose(frame[expected["labels"]].to_numpy(), np.asarray(expected["probs"]), atol=1e-6)


def test_the_bundle_copies_every_subpackage(tmp_path):
    from kit.export import make_bundle

    ckpt = GOLDEN / "flat_layout_0.1.0.ckpt"
    out = make_bundle([ckpt], tmp_path / "bundle")
    copied = {module_name(KIT.parent / p.relative_to(out["dataset"])) for p in out["dataset"].joinpath("kit")
              .rglob("*.py")}
    assert copied == {m for m, _ in all_modules()}
