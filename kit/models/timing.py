"""How long a model takes per scoring window (the experiment log's `infer_ms_per_window`)."""
from __future__ import annotations

import numpy as np


def time_inference(model, config, device, windows: int = 8, repeats: int = 3) -> float:
    """Milliseconds per scoring window: the model on a batch of `windows` crops (median of `repeats`)."""
    import time

    import torch

    from kit.models.backbones import input_shape

    was_training = model.training
    model.eval()
    shape = (config.audio.crop_samples,) if config.model.features_in_model else tuple(input_shape(config))
    x = torch.zeros((windows, 1) + shape, device=device)
    times = []
    for _ in range(repeats + 1):  # the first call warms up
        start = time.perf_counter()
        with torch.no_grad():
            model(x)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    model.train(was_training)
    return 1000.0 * float(np.median(times[1:])) / windows
