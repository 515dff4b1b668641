"""Stage 8, benchmarks (scripts, not timed tests): `python -m kit bench features` (the torch front-end vs
librosa on real crops) and `python -m kit bench inference` (windows/s end to end and model only, torch vs ONNX
Runtime vs OpenVINO, peak RSS) and `python -m kit bench quality` (what the default recipe trains on real-audio
mini-competitions, with baselines and an ablation, over seeds). They print their figures and write them to
files."""

BENCHES = {"inference": "kit.bench.inference", "features": "kit.bench.features", "quality": "kit.bench.quality"}


def cli(argv) -> int:
    import importlib

    if not argv or argv[0] not in BENCHES:
        print(f"usage: python -m kit bench {{{','.join(BENCHES)}}} [options]  (--help after the subcommand)")
        return 2
    return importlib.import_module(BENCHES[argv[0]]).cli(argv[1:])


__all__ = ["cli", "BENCHES"]
