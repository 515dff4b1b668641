"""`python -m kit bench inference`: soundscape inference throughput and memory.

    python -m kit bench inference [--backbone efficientnet_b0] [--minutes 60] [--data ../shared/data]

Inference: a `--minutes`-long soundscape made by tiling field/field_1min.ogg (written as OGG to a temp
folder), a model with random weights (pretrained=False), default 5 s windows and features. Reported in one
run: windows/s end to end (predict_soundscapes: decode + features + model) with torch and with ONNX Runtime
(`--runtime onnx`), model only (the same batches in memory: eager, ONNX Runtime, OpenVINO when installed),
their ratios, and peak RSS of the end-to-end pass.
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np



def tile_soundscape(source, minutes: float, out_path, sample_rate_hz: int = 32000) -> Path:
    """Write `source` repeated to `minutes` long as OGG, block by block (memory stays one block)."""
    import soundfile as sf

    from kit.audio import load_audio

    clip = load_audio(source, sample_rate_hz)
    total = int(minutes * 60 * sample_rate_hz)
    with sf.SoundFile(str(out_path), "w", samplerate=sample_rate_hz, channels=1, format="OGG",
                      subtype="VORBIS") as handle:
        written = 0
        while written < total:
            block = clip[: total - written]
            handle.write(block)
            written += len(block)
    return Path(out_path)


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _round_rates(fns: dict, batches: list, rounds: int = 5) -> dict:
    """Windows per second of each fn in each round: every round runs each fn over all batches in turn, after a
    pause (ONNX Runtime's threads spin-wait after a run and would slow whatever ran right after it). This
    machine's speed drifts by up to 1.5x within a minute: compare fns round by round (_median_ratio)."""
    rates = {name: [] for name in fns}
    for fn in fns.values():
        fn(batches[0])  # warm-up
    windows = sum(len(b) for b in batches)
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(0.2)
            start = time.perf_counter()
            for batch in batches:
                fn(batch)
            rates[name].append(windows / (time.perf_counter() - start))
    return rates


def _median_ratio(a: list, b: list) -> float:
    return float(np.median(np.asarray(a) / np.asarray(b)))


def _make_checkpoint(backbone: str, num_classes: int, path: Path, sets: list) -> Path:
    from kit.checkpoint import Checkpoint, save_checkpoint
    from kit.config import Config
    from kit.models import count_parameters, create_model

    config = Config().override([f"backbone={backbone}"] + list(sets))
    model = create_model(config, num_classes)
    print(f"model: {backbone}, {count_parameters(model) / 1e6:.2f} M parameters, {num_classes} classes")
    return save_checkpoint(path, Checkpoint(config=config, labels=[f"c{i}" for i in range(num_classes)],
                                            state_dict=model.state_dict()))


def _eager_fn(member):
    import torch

    from kit.infer import member_probs

    def eager(batch):
        with torch.inference_mode():
            x = torch.from_numpy(batch)
            return member_probs(member, x, torch.full((len(batch),), batch.shape[1]), "none").numpy()
    return eager


def _eager_and_onnx(onnx_member, member, batches: list, results: dict) -> None:
    from kit.infer import OpenVinoModel, in_runs, onnx_probs

    eager, session = _eager_fn(member), onnx_member.model.session
    fns = {"eager_wps": eager, "onnx_wps": lambda b: onnx_probs(session, b)}
    try:
        import openvino  # noqa: F401

        openvino_run = OpenVinoModel(member.path).run
        fns["openvino_wps"] = lambda b: in_runs(openvino_run, b)
    except ImportError:
        results["openvino_wps"] = None
        print("OpenVINO: skipped (the openvino package is not installed)")
    rates = _round_rates(fns, batches)
    results.update({name: float(np.median(r)) for name, r in rates.items()})
    results["onnx_over_eager"] = _median_ratio(rates["onnx_wps"], rates["eager_wps"])
    results["onnx_max_abs_diff"] = float(np.abs(eager(batches[0]) - onnx_probs(session, batches[0])).max())
    if "openvino_wps" in fns:
        results["openvino_over_eager"] = _median_ratio(rates["openvino_wps"], rates["eager_wps"])
        results["openvino_max_abs_diff"] = float(np.abs(eager(batches[0]) - fns["openvino_wps"](batches[0])).max())


def _end_to_end(member, sound: Path, results: dict, prefix: str = "") -> None:
    from kit.infer import predict_soundscapes

    start = time.perf_counter()
    frame = predict_soundscapes([member], sound, device="cpu")
    results[prefix + "end_to_end_s"] = time.perf_counter() - start
    results["windows"] = len(frame)
    results[prefix + "end_to_end_wps"] = len(frame) / results[prefix + "end_to_end_s"]


def bench_inference(data_dir, backbone: str = "efficientnet_b0", minutes: float = 60.0, batch_size: int = 32,
                    model_batches: int = 4, num_classes: int = 206, sets=()) -> dict:
    from kit.audio import iter_windows
    from kit.infer import load_members, predict_soundscapes
    from kit.utils import tune_malloc

    tune_malloc()  # as predict does on the CPU; measured before the model-only rates below
    source = Path(data_dir) / "field" / "field_1min.ogg"
    if not source.is_file():
        raise FileNotFoundError(f"{source}: needed to build the benchmark soundscape (set --data)")
    results = {"backbone": backbone, "minutes": minutes, "batch_size": batch_size}
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sound = tile_soundscape(source, minutes, tmp / "soundscape_60min.ogg")
        ckpt = _make_checkpoint(backbone, num_classes, tmp / "bench.ckpt",
                                list(sets) + [f"infer_batch_size={batch_size}"])
        member = load_members([ckpt], "cpu")[0]
        batches = [b.crops for _, b in zip(range(model_batches), iter_windows(sound, member.config.audio,
                                                                                batch_size))]
        eager = _eager_fn(member)
        model_rates = _round_rates({"m": eager}, batches, rounds=3)["m"]
        results["rss_before_mb"] = _peak_rss_mb()
        short_min = min(5.0, minutes)  # long enough for full batches: RSS then differs only by the length
        short = tile_soundscape(source, short_min, tmp / "soundscape_short.ogg")
        predict_soundscapes([member], short, device="cpu")
        results["peak_rss_short_mb"], results["short_minutes"] = _peak_rss_mb(), short_min
        _end_to_end(member, sound, results)
        results["peak_rss_mb"] = _peak_rss_mb()
        model_rates += _round_rates({"m": eager}, batches, rounds=3)["m"]  # before and after
        results["model_only_wps"] = float(np.median(model_rates))
        onnx_member = load_members([ckpt], "cpu", runtime="onnx", shared=False)[0]  # the waveform graph
        _end_to_end(onnx_member, sound, results, "onnx_")
        _eager_and_onnx(onnx_member, member, batches, results)
    results["e2e_over_model"] = results["end_to_end_wps"] / results["model_only_wps"]
    results["onnx_e2e_over_model"] = results["onnx_end_to_end_wps"] / results["onnx_wps"]
    return results


def inference_report(r: dict) -> str:
    import torch

    ov = (f"{r['openvino_wps']:.1f} windows/s, / eager = {r['openvino_over_eager']:.2f} (max |eager - openvino| = "
          f"{r['openvino_max_abs_diff']:.1e})" if r.get("openvino_wps") else "not installed")
    return "\n".join([
        f"inference benchmark: {r['backbone']}, {r['minutes']:g}-min soundscape ({r['windows']} windows of 5 s), "
        f"batch {r['batch_size']}, torch threads {torch.get_num_threads()}",
        f"  end to end, torch (decode + features + model): {r['end_to_end_wps']:.1f} windows/s "
        f"({r['end_to_end_s']:.1f} s)",
        f"  model only, torch (median of rounds before and after end to end): {r['model_only_wps']:.1f} windows/s",
        f"  end to end, ONNX Runtime (predict --runtime onnx): {r['onnx_end_to_end_wps']:.1f} windows/s",
        f"  model only, eager vs ONNX Runtime, in turn (medians of 5 rounds): {r['eager_wps']:.1f} vs "
        f"{r['onnx_wps']:.1f} windows/s "
        f"(max |eager - onnx| = {r['onnx_max_abs_diff']:.1e})",
        f"  OpenVINO:                                      {ov}",
        f"  end to end / model only = {r['e2e_over_model']:.2f} (torch), {r['onnx_e2e_over_model']:.2f} (ONNX);  "
        f"ONNX / eager = {r['onnx_over_eager']:.2f} (median of the round-by-round ratios)",
        f"  peak RSS (torch): {r['peak_rss_mb']:.0f} MB after the {r['minutes']:g}-min soundscape, "
        f"{r['peak_rss_short_mb']:.0f} MB after a {r['short_minutes']:g}-min one, {r['rss_before_mb']:.0f} MB "
        f"before (model loaded and run on {r['batch_size']}-window batches)"])


__all__ = ["bench_inference", "inference_report", "tile_soundscape"]
