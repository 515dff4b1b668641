"""Foreign models: bird classifiers kit did not train (Perch v2 as ONNX, BirdNET V2.4 as TFLite), used as a
teacher (soft labels and embeddings for distillation) and as an ensemble member at submission.

`model` is the one interface (waveform windows -> logits over the model's own class names + an embedding; its
sample rate and input length; resampling and fitting its input inside kit's windows through kit.audio) and
`open_foreign_model`, which picks the adapter: `onnx_model` (ONNX Runtime, Perch v2's signature by default) or
`tflite_model` (a TFLite interpreter, BirdNET V2.4 by default). `labels` maps the model's class names to a
competition's labels by scientific name through taxonomy.csv (genus fallback optional; unmatched labels get no
teacher signal) and reports it; `embeddings` is the teacher-embedding file. The stages that use them:
kit.infer.teacher (`kit pseudo-label --teacher`: soft labels, unmatched ones left empty and masked in the loss,
plus the embeddings), kit.train.distill (the cosine loss to those embeddings in `kit train`) and
kit.infer.foreign_member (the model as a member of `kit predict`'s ensemble).

Both runtimes are optional (requirements-foreign.txt) and imported only when a foreign model is opened; kit's
default path never imports this package. Read docs/foundation-models.md for the commands and the licences.
"""
from kit.foreign.embeddings import EmbeddingTable, embeddings_path, read_embeddings, write_embeddings
from kit.foreign.errors import ForeignModelError
from kit.foreign.labels import LabelMap, map_labels, read_class_names, read_taxonomy, scientific_name
from kit.foreign.factory import birdnet_files, open_foreign_model
from kit.foreign.model import ForeignModel, pooled_logits, view_offsets_s

__all__ = ["ForeignModelError", "ForeignModel", "LabelMap", "map_labels", "read_class_names", "read_taxonomy",
           "scientific_name", "open_foreign_model", "birdnet_files", "view_offsets_s", "pooled_logits",
           "EmbeddingTable", "read_embeddings", "write_embeddings", "embeddings_path"]
