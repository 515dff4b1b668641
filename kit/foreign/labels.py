"""A foreign model's class names -> a competition's labels, by scientific name through taxonomy.csv.

Class names come from a text file (one per line; BirdNET's `Genus species_Common name` lines read as their
part before `_`) or a CSV with a `scientific_name` column (Perch v2's `assets/labels.csv`; a one-column CSV is
read as that column). Each competition label is then
  * exact: its taxonomy `scientific_name` is one of the model's classes (case and spacing ignored);
  * genus (with `genus_fallback`): else the max logit over the model's classes of the same genus, leaving out
    the classes already mapped exactly to another competition label (else one label shadows its sibling);
  * unmatched: no teacher signal. Its soft label is left empty (NaN) and masked in the loss, never a 0 that
    would teach "absent"; at submission kit's own members give it alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.foreign.errors import ForeignModelError

EXACT, GENUS = "exact", "genus"


def scientific_name(class_name: str) -> str:
    """'Turdus merula_Eurasian Blackbird' (BirdNET) or ' Turdus  Merula ' -> 'turdus merula'."""
    return re.sub(r"\s+", " ", str(class_name).split("_", 1)[0]).strip().lower()


def genus_of(name: str) -> str:
    """The first word of a scientific name ('' for an empty one)."""
    parts = scientific_name(name).split(" ")
    return parts[0] if len(parts) > 1 else ""


def read_class_names(path) -> list:
    """The model's class names in logit order; errors name the file."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ForeignModelError(f"{path}: class-name file not found (one class name per line, or a CSV with a "
                                f"scientific_name column)")
    text = path.read_text(encoding="utf-8", errors="replace")
    header = text.split("\n", 1)[0]
    if path.suffix.lower() == ".csv" or "scientific_name" in header.split(","):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except Exception as exc:
            raise ForeignModelError(f"{path}: not a readable CSV ({type(exc).__name__}: {exc})") from exc
        if "scientific_name" in frame.columns:
            names = frame["scientific_name"].tolist()
        elif frame.shape[1] == 1:
            names = frame.iloc[:, 0].tolist()
        else:
            raise ForeignModelError(f"{path}: a class-name CSV needs a scientific_name column (or a single "
                                    f"column); found {list(frame.columns)[:6]}")
    else:
        names = text.splitlines()
        while names and not names[-1].strip():
            names.pop()
    empty = [i for i, n in enumerate(names) if not str(n).strip()]
    if empty:
        raise ForeignModelError(f"{path}: line {empty[0] + 1} names no class (empty); every logit needs a name")
    if not names:
        raise ForeignModelError(f"{path}: holds no class name")
    return [str(n).strip() for n in names]


def read_taxonomy(taxonomy_csv) -> dict:
    """{primary_label: scientific_name} of a competition's taxonomy.csv."""
    from kit.utils import read_csv_checked

    frame = read_csv_checked(Path(taxonomy_csv), "taxonomy.csv", ForeignModelError,
                             required=["primary_label", "scientific_name"], dtype=str, keep_default_na=False)
    return dict(zip(frame["primary_label"].str.strip(), frame["scientific_name"].str.strip()))


@dataclass
class LabelMap:
    """Which foreign classes give each competition label (`sources`: label -> class indices, max over them)."""

    labels: list                    # the competition's labels, in order
    class_names: list               # the foreign model's classes, in logit order
    sources: dict                   # label -> [class index]
    kind: dict                      # label -> EXACT | GENUS
    why_unmatched: dict = field(default_factory=dict)   # label -> reason
    scientific: dict = field(default_factory=dict)      # label -> its taxonomy scientific name
    origin: str = ""                                    # "<class-name file> -> <taxonomy.csv>"

    @property
    def matched(self) -> list:
        return [lab for lab in self.labels if lab in self.sources]

    @property
    def unmatched(self) -> list:
        return [lab for lab in self.labels if lab not in self.sources]

    def logits(self, class_logits: np.ndarray) -> np.ndarray:
        """(B, classes) foreign logits -> (B, labels) float32; NaN where a label has no teacher signal."""
        class_logits = np.asarray(class_logits, dtype=np.float32)
        if class_logits.ndim != 2 or class_logits.shape[1] != len(self.class_names):
            raise ForeignModelError(f"{self.origin}: logits of shape {class_logits.shape} for "
                                    f"{len(self.class_names)} class names")
        out = np.full((len(class_logits), len(self.labels)), np.nan, dtype=np.float32)
        for j, label in enumerate(self.labels):
            index = self.sources.get(label)
            if index:
                out[:, j] = class_logits[:, index].max(axis=1)
        return out

    def probabilities(self, class_logits: np.ndarray) -> np.ndarray:
        """sigmoid of `logits` (NaN kept where unmatched)."""
        z = self.logits(class_logits).astype(np.float64)
        return (1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))).astype(np.float32)

    def counts(self) -> dict:
        kinds = list(self.kind.values())
        return {"exact": kinds.count(EXACT), "genus": kinds.count(GENUS), "unmatched": len(self.unmatched),
                "labels": len(self.labels)}

    def report(self) -> str:
        """Matched / genus / unmatched labels, one line each under a summary line."""
        c = self.counts()
        lines = [f"label mapping {self.origin}: {c['exact']} exact, {c['genus']} by genus, {c['unmatched']} "
                 f"without teacher signal (masked), of {c['labels']} labels"]
        for label in self.labels:
            sci = self.scientific.get(label, "?")
            if self.kind.get(label) == EXACT:
                lines.append(f"  exact      {label} ({sci})")
            elif self.kind.get(label) == GENUS:
                names = [self.class_names[i] for i in self.sources[label]]
                lines.append(f"  genus      {label} ({sci}) <- max over {len(names)}: {'; '.join(names[:8])}"
                             + (" ..." if len(names) > 8 else ""))
            else:
                lines.append(f"  unmatched  {label} ({sci}): {self.why_unmatched.get(label, '')}")
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        """For provenance records: counts, the genus sources by name, the unmatched labels."""
        return dict(self.counts(), origin=self.origin, unmatched_labels=self.unmatched,
                    genus={lab: [self.class_names[i] for i in self.sources[lab]]
                           for lab in self.labels if self.kind.get(lab) == GENUS})


def map_labels(class_names: list, taxonomy_csv, labels: list, genus_fallback: bool = True,
               origin: str = "") -> LabelMap:
    """Map `labels` (the competition's, in order) to `class_names` through taxonomy_csv (module docstring).
    Refuses a mapping where no label matched at all."""
    taxonomy = read_taxonomy(taxonomy_csv)
    by_name: dict = {}
    for i, name in enumerate(class_names):
        by_name.setdefault(scientific_name(name), []).append(i)
    sources, kind, why, scientific = {}, {}, {}, {}
    for label in labels:
        sci = taxonomy.get(label, "")
        scientific[label] = sci or "not in taxonomy.csv"
        if not sci:
            why[label] = "not in taxonomy.csv"
        elif scientific_name(sci) in by_name:
            sources[label], kind[label] = list(by_name[scientific_name(sci)]), EXACT
    taken = {i for lab in sources for i in sources[lab]}
    for label in labels:
        if label in sources or label in why:
            continue
        genus = genus_of(taxonomy[label])
        pool = [i for i, name in enumerate(class_names) if genus and genus_of(name) == genus and i not in taken]
        if genus_fallback and pool:
            sources[label], kind[label] = pool, GENUS
        elif pool:
            why[label] = f"no class named {taxonomy[label]!r} (genus fallback off: {len(pool)} of its genus)"
        else:
            why[label] = f"no class named {taxonomy[label]!r} nor another free one of its genus"
    mapping = LabelMap(list(labels), list(class_names), sources, kind, why, scientific,
                       origin or f"-> {taxonomy_csv}")
    if not sources:
        raise ForeignModelError(f"{mapping.origin}: no competition label matched any of the model's "
                                f"{len(class_names)} class names by scientific name (e.g. {class_names[:2]}); the "
                                f"class-name file must name classes by scientific name ('Genus species' or "
                                f"BirdNET's 'Genus species_Common name'), and taxonomy.csv's scientific_name the same")
    return mapping


__all__ = ["LabelMap", "map_labels", "read_class_names", "read_taxonomy", "scientific_name", "genus_of",
           "EXACT", "GENUS"]
