"""`python -m kit bench inference --members N [--precision int8]`: an ensemble of N same-architecture members
(random weights, seeds 0..N-1) on a `--minutes` soundscape tiled from field/field_1min.ogg, ONNX Runtime.

Measured in one run, in rounds (medians of rounds), on the same loaded members:
- end to end (predict_soundscapes: decode + features + networks), as member-windows per second: the shared
  front-end (one decode, features once per group) against the separate path (each member alone: decode,
  features, network), and against one decode with a front-end per member (`shared=False`, kit predict before);
- network only on the same feature batches: int8 against fp32 (member 0; round by round), and K networks merged
  in one graph against K sessions ("folds in one graph");
- int8 top-1 agreement with fp32 on held-out real windows (ESC-50 clips; calibration: the field recordings; or
  --holdout / --calibrate, e.g. a trained member's test soundscapes and train_audio; random members' BatchNorm
  statistics are re-estimated on field windows so that their outputs depend on the input);
- how many members of this kind fit `--test-windows` windows in `--budget-min` minutes (kit.infer.fit).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from kit.config import Config


def member_checkpoint(backbone: str, num_classes: int, path: Path, sets: list, seed: int, waves: np.ndarray) -> Path:
    """A random-weight member (seed) whose BatchNorm statistics are re-estimated on real windows `waves` (B,
    samples): with the initial statistics (mean 0, variance 1) a random network's activations drift layer by
    layer and its top-1 is the same label for every input, which would make int8's agreement trivially 1.
    With `--set pretrained_path=...` the member has those weights, statistics included."""
    import torch

    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.models import count_parameters, create_model

    torch.manual_seed(seed)
    config = Config().override([f"backbone={backbone}"] + list(sets))
    model = create_model(config, num_classes)  # random weights, or config.model.pretrained_path's (--set)
    print(f"model: {backbone}, {count_parameters(model) / 1e6:.2f} M parameters, {num_classes} classes, seed {seed}")
    if config.model.pretrained_path:  # real weights: their own statistics
        return save_checkpoint(path, Checkpoint(config=config, labels=[f"c{i}" for i in range(num_classes)],
                                                state_dict=model.state_dict()))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for i in range(0, len(waves), 16):
            if len(waves[i:i + 16]) > 1:
                model(torch.from_numpy(waves[i:i + 16]))
    return save_checkpoint(path, Checkpoint(config=config, labels=[f"c{i}" for i in range(num_classes)],
                                            state_dict=model.eval().state_dict()))


def trained_labels(sets: list) -> int:
    """The label count of a kit checkpoint given as `--set pretrained_path=...` (a trained member keeps its own
    classifier instead of a fresh one of num_classes outputs); 0 otherwise."""
    path = Config().override(sets).model.pretrained_path
    if not path or not str(path).endswith(".ckpt"):
        return 0
    from kit.checkpoint import load_checkpoint

    return len(load_checkpoint(path).labels)


def _bn_windows(data_dir: Path, audio, n: int = 48) -> np.ndarray:
    """Windows of the field recordings (the calibration audio) for the BatchNorm statistics."""
    from kit.audio import iter_windows
    from kit.export import audio_sources

    waves = [b.crops for path in audio_sources([data_dir / "field"]) for b in iter_windows(path, audio, 16)]
    return np.concatenate(waves)[:n]


def _members(ckpts: list, precision: str, calibration: list) -> tuple:
    from kit.infer import load_members

    start = time.perf_counter()
    members = load_members(ckpts, "cpu", "onnx", shared=True, precision=precision, calibration=calibration)
    return members, time.perf_counter() - start


def _end_to_end(members: list, sound: Path, rounds: int) -> dict:
    """Seconds per round (medians of rounds) of: "shared" (one decode, one front-end per group, every member's
    network), "separate" (each member alone: its own decode, front-end and network, one after the other; "one"
    is the first of them) and "today" (one decode, each member its own front-end: kit predict before the shared
    front-end); and the window count."""
    from kit.infer import predict_soundscapes

    predict_soundscapes(members[:1], sound, device="cpu")  # warm-up
    seconds: dict = {"shared": [], "separate": [], "one": [], "today": []}
    windows = 0
    for _ in range(rounds):
        start = time.perf_counter()
        windows = len(predict_soundscapes(members, sound, device="cpu"))
        seconds["shared"].append(time.perf_counter() - start)
        alone = []
        for member in members:
            start = time.perf_counter()
            predict_soundscapes([member], sound, device="cpu")
            alone.append(time.perf_counter() - start)
        seconds["separate"].append(sum(alone))
        seconds["one"].append(alone[0])
        start = time.perf_counter()
        predict_soundscapes(members, sound, device="cpu", shared=False)
        seconds["today"].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in seconds.items()} | {"windows": windows}


def _network_rates(members: list, ckpts: list, tmp: Path, feats: list, precision: str, calibration: list) -> dict:
    """int8 / fp32 network-only speed (member 0) and K merged networks / K sessions."""
    from kit.bench.inference import _median_ratio, _round_rates
    from kit.export import audio_sources, export_parts, int8_metadata, quantize_network, window_features, write_merged
    from kit.infer import OnnxNetwork, in_runs

    nets = [export_parts(c, tmp / f"net{i}", frontend=False) for i, c in enumerate(ckpts)]
    fp32 = OnnxNetwork(nets[0]["network"])
    if precision == "int8":
        int8 = members[0].model
    else:
        calib = window_features(nets[0]["checkpoint"].config, audio_sources(calibration), 64)
        int8 = OnnxNetwork(quantize_network(nets[0]["network"], calib, tmp / "m0.int8.onnx",
                                            int8_metadata(ckpts[0], nets[0]["checkpoint"])))
    merged = OnnxNetwork(write_merged([n["network"] for n in nets], tmp / "merged.onnx"))
    sessions = [OnnxNetwork(n["network"]) for n in nets]
    fns = {"fp32": lambda f: in_runs(fp32.run, f), "int8": lambda f: in_runs(int8.run, f),
           "k_sessions": lambda f: [in_runs(s.run, f) for s in sessions],
           "merged": lambda f: in_runs(merged.run, f)}
    rates = _round_rates(fns, feats, rounds=5)
    return {"fp32_network_windows_per_s": float(np.median(rates["fp32"])),
            "int8_network_windows_per_s": float(np.median(rates["int8"])),
            "int8_speedup": _median_ratio(rates["int8"], rates["fp32"]),
            "merged_over_k_sessions": _median_ratio(rates["merged"], rates["k_sessions"]),
            "_fp32": fp32, "_int8": int8}


def _agreement(fp32, int8, config, holdout_files: list, windows: int) -> dict:
    from kit.export import window_features
    from kit.infer import in_runs, top1_agreement

    feats = window_features(config, holdout_files, windows)
    a, b = in_runs(fp32.run, feats), in_runs(int8.run, feats)
    # how fragile fp32's own decisions are: its top-1 agreement with itself under Gaussian input noise of 1 % of
    # the features' std (seeded); well below 1, int8's agreement says more about the weights than about int8
    noise = np.random.default_rng(0).standard_normal(feats.shape).astype(np.float32) * 0.01 * float(feats.std())
    return {"int8_top1_agreement": top1_agreement(a, b), "int8_agreement_windows": len(feats),
            "fp32_noise_top1_agreement": top1_agreement(a, in_runs(fp32.run, feats + noise)),
            "int8_max_abs_diff": float(np.abs(a - b).max()),
            "int8_calibrate_method": int8.session.get_modelmeta().custom_metadata_map.get("kit_calibrate_method", ""),
            "fp32_top1_classes": int(len(np.unique(a.argmax(axis=1))))}  # 1: the agreement is trivially high


def bench_ensemble(data_dir, backbone: str = "efficientnet_b0", members: int = 4, minutes: float = 10.0,
                   precision: str = "fp32", batch_size: int = 32, num_classes: int = 206, sets=(),
                   test_windows: int = 52_800, budget_min: float = 90.0, rounds: int = 2, model_batches: int = 2,
                   holdout_windows: int = 96, calibrate=None, holdout=None) -> dict:
    """The figures of the module docstring. `calibrate` / `holdout`: audio files or folders for int8's
    calibration and its agreement windows instead of the shared field recordings / every other ESC-50 clip (a
    trained member: its competition's train_audio/ and held-out test_soundscapes/, as `kit export --calibrate`)."""
    import torch

    from kit.audio import iter_windows
    from kit.bench.inference import _peak_rss_mb, tile_soundscape
    from kit.export import audio_sources
    from kit.infer import members_that_fit, split_costs
    from kit.utils import tune_malloc

    if members < 2:
        raise ValueError(f"--members {members}: the shared and separate paths differ from 2 members on")
    tune_malloc()
    data_dir = Path(data_dir)
    calibration = [Path(p) for p in calibrate] if calibrate else [data_dir / "field"]
    holdout_files = audio_sources(holdout) if holdout else sorted((data_dir / "esc50").glob("**/*.ogg"))[::2]
    for flag, paths, files in (("--calibrate", calibration, audio_sources(calibration)),
                               ("--holdout", holdout, holdout_files)):
        gone = [str(p) for p in paths or [] if not Path(p).exists()]
        if gone or not files:
            raise FileNotFoundError(f"{flag}: no audio files in {', '.join(gone or map(str, paths))} (it takes "
                                    f"audio files or folders holding them)")
    r: dict = {"backbone": backbone, "members": members, "minutes": minutes, "precision": precision,
               "batch_size": batch_size, "test_windows": test_windows, "budget_min": budget_min,
               "int8_calibration": ", ".join(map(str, calibration)),
               "int8_holdout": ", ".join(map(str, holdout)) if holdout else "ESC-50 clips"}
    with tempfile.TemporaryDirectory(prefix="kit-bench-ens-") as tmp_name:
        tmp = Path(tmp_name)
        sound = tile_soundscape(data_dir / "field" / "field_1min.ogg", minutes, tmp / "soundscape.ogg")
        sets = list(sets) + [f"backbone={backbone}", f"infer_batch_size={batch_size}"]
        num_classes = r["num_classes"] = trained_labels(sets) or num_classes
        waves = _bn_windows(data_dir, Config().override(sets).audio)
        ckpts = [member_checkpoint(backbone, num_classes, tmp / f"m{seed}.ckpt", sets, seed, waves)
                 for seed in range(members)]
        loaded, r["load_s"] = _members(ckpts, precision, calibration)
        e2e = _end_to_end(loaded, sound, rounds)
        r["windows"] = e2e["windows"]
        r["shared_member_windows_per_s"] = e2e["windows"] * members / e2e["shared"]
        r["separate_member_windows_per_s"] = e2e["windows"] * members / e2e["separate"]
        r["shared_over_separate"] = e2e["separate"] / e2e["shared"]
        r["today_member_windows_per_s"] = e2e["windows"] * members / e2e["today"]
        r["shared_over_today"] = e2e["today"] / e2e["shared"]
        r["fixed_s_per_window"], r["member_s_per_window"] = split_costs(e2e["one"], e2e["shared"], members,
                                                                        e2e["windows"])
        r["members_that_fit"] = members_that_fit(r["fixed_s_per_window"], r["member_s_per_window"], test_windows,
                                                 budget_min * 60)
        wave_batches = [b for _, b in zip(range(model_batches), iter_windows(sound, loaded[0].config.audio,
                                                                             batch_size))]
        with torch.inference_mode():
            feats = [loaded[0].frontend(torch.from_numpy(b.crops)[:, None])[:, 0].numpy() for b in wave_batches]
        nets = _network_rates(loaded, ckpts, tmp, feats, precision, calibration)
        r.update(_agreement(nets.pop("_fp32"), nets.pop("_int8"), loaded[0].config, holdout_files, holdout_windows))
        r.update(nets)
    r["peak_rss_mb"] = _peak_rss_mb()
    r["torch_threads"] = torch.get_num_threads()
    return r


def ensemble_report(r: dict) -> str:
    return "\n".join([
        f"ensemble benchmark: {r['members']} x {r['backbone']} ({r['precision']}, ONNX Runtime), "
        f"{r['minutes']:g}-min soundscape ({r['windows']} windows), batch {r['batch_size']}; members loaded in "
        f"{r['load_s']:.1f} s",
        f"  end to end, member-windows/s: shared front-end {r['shared_member_windows_per_s']:.1f}, separate "
        f"{r['separate_member_windows_per_s']:.1f} (each member alone): shared / separate = "
        f"{r['shared_over_separate']:.2f}; one decode + a front-end per member (kit predict before) "
        f"{r['today_member_windows_per_s']:.1f}: shared / that = {r['shared_over_today']:.2f}",
        f"  cost per window: {1e3 * r['fixed_s_per_window']:.2f} ms decode + front-end, "
        f"{1e3 * r['member_s_per_window']:.2f} ms per member",
        f"  network only (member 0): fp32 {r['fp32_network_windows_per_s']:.1f}, int8 "
        f"{r['int8_network_windows_per_s']:.1f} windows/s: int8 / fp32 = {r['int8_speedup']:.2f}; top-1 "
        f"({r['int8_calibrate_method']} calibration on {r['int8_calibration']}) agreement "
        f"{r['int8_top1_agreement']:.4f} on {r['int8_agreement_windows']} held-out windows of {r['int8_holdout']} "
        f"(max |fp32 - int8| {r['int8_max_abs_diff']:.3f}; fp32's top-1 takes {r['fp32_top1_classes']} distinct "
        f"label(s) there); fp32 against itself with 1 % input noise: {r['fp32_noise_top1_agreement']:.3f}",
        f"  {r['members']} networks in one graph / {r['members']} sessions = {r['merged_over_k_sessions']:.2f}",
        f"  members that fit {r['test_windows']} windows in {r['budget_min']:g} min on this machine "
        f"({r['precision']}, shared front-end, 90 % of the budget): {r['members_that_fit']}",
        f"  peak RSS: {r['peak_rss_mb']:.0f} MB"])


__all__ = ["bench_ensemble", "ensemble_report"]
