"""Regenerate tests/golden/logmel_default.json — only when a change of feature defaults is deliberate.

    python tests/golden/make_golden.py
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from test_features import synthetic  # noqa: E402

from kit.config import Config  # noqa: E402
from kit.features.frontend import extract  # noqa: E402

cfg = Config()
seconds = 1.0
out = extract(synthetic(seconds=seconds)[None], cfg.audio, cfg.features)[0, 0].numpy()
rows, cols = list(range(0, cfg.features.n_mels, 16)), [0, 1, 10, 32, 63, 64]
golden = {"config": cfg.to_dict()["features"], "seconds": seconds, "mel_rows": rows, "frame_cols": cols,
          "values": [[round(float(out[r, c]), 5) for c in cols] for r in rows]}
(HERE / "logmel_default.json").write_text(json.dumps(golden, indent=1) + "\n")
print("wrote", HERE / "logmel_default.json")
