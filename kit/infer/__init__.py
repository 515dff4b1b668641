"""Stage 6, inference: checkpoints + soundscapes -> per-window probabilities -> submission.csv.

`members` loads checkpoints as ensemble members (torch, or ONNX Runtime / OpenVINO graphs that kit.export writes
and `runtimes` runs; `int8` the int8 networks, checked against their checkpoint or quantized on load)
and runs them on batches of windows (TTA, batch halving on out-of-memory); `predict` streams every soundscape
through the members (kit.audio's window streams), smooths, assembles the rows and writes the file
(`predict_competition`, `python -m kit predict`); `budget` drops optional work when the measured rate will not
fit the time limit; `fit` estimates how many members fit a test set in a budget on this machine; `submission`
aligns labels to sample_submission.csv, validates and writes atomically; `longform` turns the per-window
probabilities into BirdCLEF 2022's long True/False rows; `pseudo` writes soft labels of unlabeled soundscapes
for the next training round; `teacher` does the same with a foreign model (kit.foreign: Perch v2, BirdNET) and
writes its embeddings, `foreign_member` blends such a model into predict's ensemble.
The preprocessing always comes from the checkpoint. Imports nothing from training or the CLI.
"""
from kit.infer.budget import BudgetGuard, BudgetPlan
from kit.infer.foreign_member import ForeignBlend, foreign_s_per_window, load_foreign_blend
from kit.infer.fit import FitEstimate, estimate_members, members_that_fit, split_costs
from kit.infer.longform import to_long, validate_long_submission, write_long_submission
from kit.infer.members import Member, Runner, load_members, member_probs, union_labels
from kit.infer.int8 import load_int8, onnx_member, quantize_checkpoint, top1_agreement
from kit.infer.predict import (WindowPredictions, infer_config_from, predict_competition, predict_soundscapes,
                               predict_windows, smooth)
from kit.infer.pseudo import MIN_CONFIDENCE, audio_files, pseudo_label, sharpen
from kit.infer.runtimes import (OnnxFrontend, OnnxModel, OnnxNetwork, OpenVinoModel, in_runs, onnx_probs,
                                onnx_session, parity)
from kit.infer.submission import align_labels, empty_submission, validate_submission, write_submission
from kit.infer.teacher import teach, teacher_pseudo_label

__all__ = ["predict_soundscapes", "predict_competition", "infer_config_from", "smooth", "Member", "Runner",
           "load_members", "member_probs", "union_labels", "BudgetGuard", "BudgetPlan", "align_labels",
           "empty_submission", "validate_submission", "write_submission", "to_long", "validate_long_submission",
           "write_long_submission", "pseudo_label", "MIN_CONFIDENCE", "FitEstimate", "estimate_members",
           "members_that_fit", "split_costs", "predict_windows", "WindowPredictions", "load_int8", "onnx_member",
           "quantize_checkpoint", "top1_agreement", "OnnxFrontend", "OnnxModel", "OnnxNetwork", "OpenVinoModel",
           "in_runs", "onnx_probs", "onnx_session", "parity", "audio_files", "sharpen", "teach", "teacher_pseudo_label",
           "ForeignBlend", "load_foreign_blend", "foreign_s_per_window"]
