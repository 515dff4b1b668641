"""Folds in one graph: K network graphs of the same features merged into one ONNX graph (their probabilities
summed), to measure one ONNX Runtime session against K (`kit bench inference --members K` reports the ratio;
kit.infer keeps K sessions unless the merged graph is measurably faster; docs/inference-speed.md)."""
from __future__ import annotations

from pathlib import Path


def merge_networks(network_paths) -> "onnx.ModelProto":  # noqa: F821
    """One graph: features (batch, C, H, T) -> the sum of the K networks' probabilities (batch, classes)."""
    import onnx
    from onnx import compose, helper

    models = [compose.add_prefix(onnx.load(str(p)), f"m{k}/") for k, p in enumerate(network_paths)]
    if not models:
        raise ValueError("merge_networks needs at least one network graph")
    nodes, initializers = [], []
    for model in models:
        inp = model.graph.input[0].name
        for node in model.graph.node:
            for i, name in enumerate(node.input):
                if name == inp:
                    node.input[i] = "features"
            nodes.append(node)
        initializers += list(model.graph.initializer)
    nodes.append(helper.make_node("Sum", [m.graph.output[0].name for m in models], ["probabilities"]))
    features, probs = onnx.ValueInfoProto(), onnx.ValueInfoProto()
    features.CopyFrom(models[0].graph.input[0])
    probs.CopyFrom(models[0].graph.output[0])
    features.name, probs.name = "features", "probabilities"
    graph = helper.make_graph(nodes, "kit_merged_networks", [features], [probs], initializer=initializers)
    merged = helper.make_model(graph, opset_imports=list(models[0].opset_import), ir_version=models[0].ir_version,
                               producer_name="kit")
    onnx.checker.check_model(merged)
    return merged


def write_merged(network_paths, out_path) -> Path:
    from kit.utils import atomic_write_bytes

    return atomic_write_bytes(out_path, merge_networks(network_paths).SerializeToString())


__all__ = ["merge_networks", "write_merged"]
