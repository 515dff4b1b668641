"""Regenerate tests/golden/layout_0.2.0.ckpt + .json with kit 0.2.0 (commit 64ae96f), the layout before the
workflow layer, the config renames and the pseudo section (issue 29). Run only with kit 0.2.0 checked out:

    python tests/golden/make_layout_0_2_0.py

Its config uses the keys that later kits rename or move (melspecs_per_audio, data_percentage, validate_on_train,
data.pseudo_*), so loading it proves they are still read; the probabilities are predict_soundscapes' on the first
windows of shared/data/field/field_1min.ogg.
"""
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"

import kit  # noqa: E402
from kit.checkpoint import Checkpoint, save_checkpoint  # noqa: E402
from kit.config import Config  # noqa: E402
from kit.infer import predict_soundscapes  # noqa: E402
from kit.models import create_model  # noqa: E402

assert kit.__version__ == "0.2.0", "run with kit 0.2.0"
config = Config().override(["cnn_channels=4,8", "head_hidden=8", "melspecs_per_audio=2", "data_percentage=0.5",
                            "validate_on_train=true", "pseudo_mixup_p=0.25", "pseudo_ratio=0.75",
                            "pseudo_init=scratch", "pseudo_epoch_frac=0.5", "pseudo_jitter_s=0.5",
                            "infer_batch_size=4"])
labels = ["0125", "dog", "frog"]
torch.manual_seed(0)
model = create_model(config, num_classes=len(labels))
with torch.no_grad():  # spread the random model's outputs, so that any change of the path shows in the digits
    for p in model.parameters():
        p.mul_(1.6)
model.eval()
ckpt = HERE / "layout_0.2.0.ckpt"
save_checkpoint(ckpt, Checkpoint(config=config, labels=labels, state_dict=model.state_dict()))
frame = predict_soundscapes([ckpt], [SHARED / "field" / "field_1min.ogg"], device="cpu")
golden = {"audio": "field/field_1min.ogg", "labels": labels, "row_ids": list(frame["row_id"]),
          "probs": frame[labels].to_numpy().tolist(), "config": config.to_dict()}
(HERE / "layout_0.2.0.json").write_text(json.dumps(golden, indent=1) + "\n")
print("wrote", ckpt, "and", HERE / "layout_0.2.0.json", file=sys.stderr)
