"""Stage 9, benchmarks (scripts, not timed tests): `features` (the torch front-end vs librosa on real crops),
`inference` (windows/s end to end and model only, torch vs ONNX Runtime vs OpenVINO, peak RSS), `ensemble`
(shared vs separate members, int8, merged networks, members that fit) and `quality` (what the default recipe
trains on real-audio mini-competitions, with baselines, an ablation and pseudo-label rounds, over seeds). They
print their figures and write them to files; `python -m kit bench NAME` runs them (kit.cli.bench).
"""
from kit.bench.ensemble import bench_ensemble, ensemble_report
from kit.bench.features import format_results, run_features_bench
from kit.bench.inference import bench_inference, inference_report
from kit.bench.quality import ABLATION, bench_quality, markdown, parse_round_variant, parse_variant

__all__ = ["run_features_bench", "format_results", "bench_inference", "inference_report", "bench_ensemble",
           "ensemble_report", "bench_quality", "markdown", "parse_variant", "parse_round_variant", "ABLATION"]
