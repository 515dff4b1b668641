"""Tiny competition folders in each BirdCLEF year's layout (2021-2026), written into a test's tmp folder.

The CSV and JSON texts are the real files' formats: the header lines and the awkward rows of each year as the
competitions published them (as quoted in competitors' public repositories): 2021's `train_short_audio/` with
bare file names and `row_id,birds`; 2022's `row_id,target` with `<soundscape>_<bird>_<end s>` ids, test.csv
and scored_birds.json; 2023/2024's `[]` written unquoted and eBird_Taxonomy_v2021.csv beside the data; 2025's
`train.csv` with numeric labels (`1139490`, `41663`), `['']` lists, `collection` and unrated (0.0) CSA / iNat
recordings, and `taxonomy.csv` with labels no training recording has; 2026's `train.csv` (its column order,
`class_name`, `inat_taxon_id`), numeric and sonotype labels, `train_soundscapes_labels.csv` (hh:mm:ss, `;` lists,
every row twice) and `BC2026_*` soundscapes of 60 s. Rows are a handful of made-up but
format-true records. The audio is placeholder tones (pitch by label), never real recordings.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 32000
CLIP_S, SOUNDSCAPE_S = 2.0, 15.0
LICENSE = "Creative Commons Attribution-NonCommercial-ShareAlike 4.0"
EBIRD_TAXONOMY = ("TAXON_ORDER,CATEGORY,SPECIES_CODE,PRIMARY_COM_NAME,SCI_NAME,ORDER1,FAMILY,SPECIES_GROUP,REPORT_AS\n"
                  "1,species,ostric2,Common Ostrich,Struthio camelus,Struthioniformes,Struthionidae (Ostriches),"
                  "Ostriches,\n"
                  "6,species,ostric3,Somali Ostrich,Struthio molybdophanes,Struthioniformes,Struthionidae "
                  "(Ostriches),,\n")

Y2021 = {
    "metadata": "train_metadata.csv", "audio": "train_short_audio",
    "header": "primary_label,secondary_labels,type,latitude,longitude,scientific_name,common_name,date,filename,"
              "license,rating,time,url",
    "rows": [
        f"acafly,['amegfi'],\"['begging call', 'call', 'juvenile']\",35.386,-84.125,Empidonax virescens,Acadian "
        f"Flycatcher,2012-08-12,XC109605.ogg,{LICENSE},2.5,09:30,https://www.xeno-canto.org/109605",
        f"acafly,[],['call'],9.1334,-79.6501,Empidonax virescens,Acadian Flycatcher,2000-12-26,XC11209.ogg,"
        f"{LICENSE},3.0,?,https://www.xeno-canto.org/11209",
        f"amegfi,\"['acafly', 'amegfi']\",['song'],41.5,-72.1,Spinus tristis,American Goldfinch,2014-07-05,"
        f"XC187480.ogg,{LICENSE},4.0,08:00,https://www.xeno-canto.org/187480",
        f"amegfi,[],\"['call', 'flight call']\",44.0,-70.2,Spinus tristis,American Goldfinch,2016-05-01,"
        f"XC312345.ogg,{LICENSE},5.0,07:15,https://www.xeno-canto.org/312345",
    ],
    "files": {"sample_submission.csv": "row_id,birds\n3575_COL_5,nocall\n3575_COL_10,nocall\n3575_COL_15,nocall\n",
              "test.csv": "row_id,site,audio_id,seconds\n3575_COL_5,COL,3575,5\n3575_COL_10,COL,3575,10\n"
                          "3575_COL_15,COL,3575,15\n"},
    "soundscapes": ["3575_COL_20190904.ogg"],
}

_2022_ROWS = [("afrsil1", "[]", "\"['call', 'flight call']\"", "XC125458"),
              ("afrsil1", "['houfin']", "['call']", "XC175522"),
              ("akiapo", "[]", "['song']", "XC122399"),
              ("akiapo", "\"['apapan', 'houfin']\"", "['call']", "XC126500"),
              ("houfin", "[]", "['song']", "XC135183"),
              ("houfin", "['akiapo']", "['call']", "XC139004")]
_2022_TEST = [(f"soundscape_453028782_{bird}_{end}", "soundscape_453028782", bird, end)
              for bird in ("akiapo", "aniani", "houfin") for end in (5, 10, 15)]
Y2022 = {
    "metadata": "train_metadata.csv", "audio": "train_audio",
    "header": "primary_label,secondary_labels,type,latitude,longitude,scientific_name,common_name,author,license,"
              "rating,time,url,filename",
    "rows": [f"{p},{s},{t},12.391,-1.493,Some name,Common name,Bram Piot,{LICENSE},{2.5 + i % 3},08:00,"
             f"https://www.xeno-canto.org/{x[2:]},{p}/{x}.ogg" for i, (p, s, t, x) in enumerate(_2022_ROWS)],
    "files": {"sample_submission.csv": "row_id,target\nsoundscape_1000170626_akiapo_5,False\n"
                                       "soundscape_1000170626_akiapo_10,False\nsoundscape_1000388941_aniani_5,False\n",
              "scored_birds.json": json.dumps(["akiapo", "aniani", "houfin"]),   # aniani: no training recording
              "test.csv": "row_id,file_id,bird,end_time\n" + "".join(f"{r},{f},{b},{e}\n" for r, f, b, e in _2022_TEST),
              "eBird_Taxonomy_v2021.csv": EBIRD_TAXONOMY},
    "soundscapes": ["soundscape_453028782.ogg"],
}

_XC_HEADER = ("primary_label,secondary_labels,type,latitude,longitude,scientific_name,common_name,author,license,"
              "rating,url,filename")
Y2023 = {
    "metadata": "train_metadata.csv", "audio": "train_audio", "header": _XC_HEADER,
    "rows": [f"abethr1,[],['song'],4.3906,38.2788,Turdus tephronotus,African Bare-eyed Thrush,Rolf A. de By,{LICENSE},"
             f"4.0,https://www.xeno-canto.org/128013,abethr1/XC128013.ogg",
             f"abethr1,\"['abhori1', 'gnbcam2']\",\"['call', 'song']\",-2.9,37.3,Turdus tephronotus,African Bare-eyed "
             f"Thrush,James Lidster,{LICENSE},3.5,https://www.xeno-canto.org/363502,abethr1/XC363502.ogg",
             f"abhori1,[],['call'],-1.2,36.8,Bubo lacteus,African Hornbill,Lars Lachmann,{LICENSE},3.0,"
             f"https://www.xeno-canto.org/166226,abhori1/XC166226.ogg",
             f"abhori1,['abethr1'],['song'],0.5,35.3,Bubo lacteus,African Hornbill,Mike Nelson,{LICENSE},5.0,"
             f"https://www.xeno-canto.org/209404,abhori1/XC209404.ogg",
             f"abythr1,[],['song'],-3.4,36.7,Turdus abyssinicus,Abyssinian Thrush,Bram Piot,{LICENSE},4.5,"
             f"https://www.xeno-canto.org/221223,abythr1/XC221223.ogg",
             f"abythr1,[],['song'],-0.4,36.9,Turdus abyssinicus,Abyssinian Thrush,Bram Piot,{LICENSE},4.0,"
             f"https://www.xeno-canto.org/221224,abythr1/XC221224.ogg"],
    "files": {"sample_submission.csv": "row_id,abethr1,abhori1,abythr1,afbfly1\n" + "".join(
        f"soundscape_29201_{e},0,0,0,0\n" for e in (5, 10, 15)), "eBird_Taxonomy_v2021.csv": EBIRD_TAXONOMY},
    "soundscapes": ["soundscape_29201.ogg"],
}

_2024 = [("asbfly", "[]", "['call']", "Matt Slaymaker", "5.0", "134896"),
         ("asbfly", "[]", "['song']", "Magnus Hellström", "2.5", "164848"),
         ("asbfly", "['ashdro1']", "['song']", "Stuart Fisher", "2.5", "175797"),
         ("ashdro1", "[]", "\"['call', 'song']\"", "Mike Nelson", "4.0", "207738"),
         ("ashdro1", "[]", "['call']", "Matt Slaymaker", "0.0", "397761"),
         ("ashdro1", "['asbfly']", "['song']", "Stuart Fisher", "3.5", "412215"),
         ("ashpri1", "[]", "['call']", "Lars Lachmann", "1.0", "197723"),
         ("ashpri1", "[]", "['song']", "Lars Lachmann", "4.5", "197724"),
         ("ashpri1", "[]", "['song']", "Magnus Hellström", "3.0", "289211")]
Y2024 = {
    "metadata": "train_metadata.csv", "audio": "train_audio", "header": _XC_HEADER,
    "rows": [f"{p},{s},{t},39.2297,118.1987,Some name,Common name,{a},{LICENSE},{r},https://www.xeno-canto.org/{x},"
             f"{p}/XC{x}.ogg" for p, s, t, a, r, x in _2024],
    "files": {"sample_submission.csv": "row_id,asbfly,ashdro1,ashpri1\n" + "".join(
        f"soundscape_1446779_{e},0.5,0.5,0.5\n" for e in (5, 10, 15)), "eBird_Taxonomy_v2021.csv": EBIRD_TAXONOMY},
    "soundscapes": ["soundscape_1446779.ogg"],
}

# 2025: the taxonomy (and the submission's columns) in an order that is not sorted, to prove it is kept
TAXONOMY_2025 = [("ashgre1", "Aratinga weddellii", "Aves"), ("amekes", "Falco sparverius", "Aves"),
                 ("1139490", "Ragoniella pulchella", "Insecta"), ("41663", "Didelphis marsupialis", "Mammalia"),
                 ("1192948", "Oxyprora surinamensis", "Insecta"), ("22961", "Leptodactylus podicipinus", "Amphibia")]
_2025 = [("1139490", "['']", "['']", "1139490/CSA36385.ogg", "CSA", "0.0", "Fabio A. Sarria-S"),
         ("1139490", "['']", "['']", "1139490/CSA36389.ogg", "CSA", "0.0", "Fabio A. Sarria-S"),
         ("41663", "['']", "['']", "41663/iNat1208571.ogg", "iNat", "0.0", "Juan Pérez"),
         ("41663", "[]", "['']", "41663/iNat327092.ogg", "iNat", "0.0", "Ana Gómez"),
         ("ashgre1", "['1139490']", "['call']", "ashgre1/XC197254.ogg", "XC", "4.0", "Peter Boesman"),
         ("ashgre1", "\"['ashgre1', '41663']\"", "['song']", "ashgre1/XC308716.ogg", "XC", "2.5", "Peter Boesman"),
         ("amekes", "[]", "\"['call', 'flight call']\"", "amekes/XC133080.ogg", "XC", "5.0", "Andrew Spencer"),
         ("amekes", "[]", "['call']", "amekes/iNat1016745.ogg", "iNat", "0.0", "Ana Gómez")]
Y2025 = {
    "metadata": "train.csv", "audio": "train_audio",
    "header": "primary_label,secondary_labels,type,filename,collection,rating,url,latitude,longitude,"
              "scientific_name,common_name,author,license",
    "rows": [f"{p},{s},{t},{f},{c},{r},https://example.org/{f.split('/')[1][:-4]},7.3206,-73.7128,Some name,"
             f"Some name,{a},cc-by-nc-sa 4.0" for p, s, t, f, c, r, a in _2025],
    "files": {"taxonomy.csv": "primary_label,inat_taxon_id,scientific_name,common_name,class_name\n" + "".join(
        f"{p},{1000 + i},{n},{n},{k}\n" for i, (p, n, k) in enumerate(TAXONOMY_2025)),
              "sample_submission.csv": "row_id," + ",".join(p for p, _, _ in TAXONOMY_2025) + "\n" + "".join(
        f"soundscape_8358733_{e}," + ",".join(["0.0"] * len(TAXONOMY_2025)) + "\n" for e in (5, 10, 15))},
    "soundscapes": ["H02_20230420_074000.ogg"],
}

# 2026 (BirdCLEF+ 2026): numeric iNat ids, eBird codes and insect sonotypes that share one inat_taxon_id, all text;
# the submission's columns string-sorted (numeric ids first). `0412345` is made up (no real label starts with a
# zero): it proves no reader turns a label into a number. 24321 and the sonotypes have no train_audio.
TAXONOMY_2026 = [("0412345", "Made-up leadingzero", "Insecta"), ("1161364", "Guyalna cuta", "Insecta"),
                 ("116570", "Fidicina mannifera", "Insecta"), ("22961", "Leptodactylus podicipinus", "Amphibia"),
                 ("23158", "Leptodactylus fuscus", "Amphibia"), ("24321", "Physalaemus nattereri", "Amphibia"),
                 ("47158son01", "Insecta sonotype 1", "Insecta"), ("47158son02", "Insecta sonotype 2", "Insecta"),
                 ("517063", "Pseudis platensis", "Amphibia"), ("65380", "Alouatta caraya", "Mammalia"),
                 ("grekis", "Pitangus sulphuratus", "Aves"), ("rufhor2", "Furnarius rufus", "Aves")]
_2026 = [("1161364", "[]", "[]", "iNat1216197", "iNat", "0.0", "Lucas Barbosa", "-22.7562,-46.8666"),
         ("1161364", "[]", "[]", "iNat1300117", "iNat", "0.0", "Ana Gómez", "-16.5013,-56.4179"),
         ("116570", "[]", "[]", "iNat987655", "iNat", "0.0", "Ana Gómez", "-16.6,-56.7"),
         ("22961", "['23158']", "['call']", "XC712345", "XC", "3.5", "Peter Boesman", "-19.01,-57.65"),
         ("22961", "['']", "['']", "iNat553311", "iNat", "0.0", "Juan Pérez", "-19.2,-57.1"),
         ("23158", "[]", "[]", "iNat640001", "iNat", "0.0", "Juan Pérez", "-16.4,-56.2"),
         ("517063", "[]", "[]", "iNat771002", "iNat", "0.0", "Lucas Barbosa", "-18.0,-57.5"),
         ("65380", "[]", "[]", "iNat812003", "iNat", "0.0", "Ana Gómez", "-17.9,-57.3"),
         ("0412345", "[]", "[]", "iNat900004", "iNat", "0.0", "Ana Gómez", "-17.1,-56.9"),
         ("grekis", "[]", "['song']", "XC197254", "XC", "4.0", "Andrew Spencer", "-16.3,-56.6"),
         ("grekis", "\"['rufhor2', '1161364']\"", "\"['call', 'song']\"", "XC308716", "XC", "2.5", "Andrew Spencer",
          "-16.9,-56.1"),
         ("rufhor2", "['grekis']", "['call']", "XC133080", "XC", "5.0", "Peter Boesman", "-22.7,-46.8")]
_NAMES_2026 = {label: (name, kind) for label, name, kind in TAXONOMY_2026}
TRAIN_SOUNDSCAPES_2026 = ["BC2026_Train_0039_S22_20211231_201500.ogg", "BC2026_Train_0102_S03_20220105_063000.ogg",
                          "BC2026_Train_0500_S13_20220110_000000.ogg"]   # fully, partly and not labelled
SEGMENTS_2026 = ([(0, 0, "22961;23158;24321;517063;65380")]           # the example row
                 + [(0, w, ["1161364", "47158son01;grekis", "rufhor2;0412345", "116570"][w % 4]) for w in range(1, 12)]
                 + [(1, 0, "47158son02"), (1, 1, "22961;47158son01"), (1, 2, "65380")])
_LABEL_ROWS_2026 = [f"{TRAIN_SOUNDSCAPES_2026[f]},00:{5 * w // 60:02d}:{5 * w % 60:02d},"
                    f"00:{5 * (w + 1) // 60:02d}:{5 * (w + 1) % 60:02d},{labels}" for f, w, labels in SEGMENTS_2026]
Y2026 = {
    "metadata": "train.csv", "audio": "train_audio",
    "header": "primary_label,secondary_labels,type,latitude,longitude,scientific_name,common_name,class_name,"
              "inat_taxon_id,author,license,rating,url,filename,collection",
    "rows": [f"{p},{s},{t},{ll},{_NAMES_2026[p][0]},{_NAMES_2026[p][0]},{_NAMES_2026[p][1]},"
             f"{p if p[0].isdigit() else ''},{a},cc-by-nc,{r},https://example.org/{x},{p}/{x}.ogg,{c}"
             for p, s, t, x, c, r, a, ll in _2026],
    "files": {"taxonomy.csv": "primary_label,inat_taxon_id,scientific_name,common_name,class_name\n" + "".join(
        f"{p},{p[:5] if 'son' in p else (p if p[0].isdigit() else 2000 + i)},{n},{n},{k}\n"
        for i, (p, n, k) in enumerate(TAXONOMY_2026)),
              "sample_submission.csv": "row_id," + ",".join(p for p, _, _ in TAXONOMY_2026) + "\n" + "".join(
        f"BC2026_Test_0001_S05_20250227_010002_{e}," + ",".join(["0.0"] * len(TAXONOMY_2026)) + "\n"
        for e in (5, 10, 15)),
              "train_soundscapes_labels.csv": "filename,start,end,primary_label\n" + "".join(
        f"{row}\n" for row in _LABEL_ROWS_2026 * 2),                  # every row twice, as the real file
              "recording_location.txt": "Pantanal, Brazil\n"},
    "soundscapes": ["BC2026_Test_0001_S05_20250227_010002.ogg"],
    "train_soundscapes": TRAIN_SOUNDSCAPES_2026, "soundscape_s": 60.0,
}

YEARS = {2021: Y2021, 2022: Y2022, 2023: Y2023, 2024: Y2024, 2025: Y2025, 2026: Y2026}


def _tone(seconds: float, freq_hz: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (0.3 * np.sin(2 * np.pi * freq_hz * t) + 0.03 * rng.standard_normal(len(t))).astype(np.float32)


def _write(path: Path, x: np.ndarray) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, SAMPLE_RATE_HZ, format="OGG", subtype="VORBIS")


def make_year(folder, year: int, drop=()) -> Path:
    """Write year `year`'s layout into `folder` (audio as tones); `drop` leaves out files by name."""
    import pandas as pd

    spec, folder = YEARS[year], Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / spec["metadata"]).write_text(spec["header"] + "\n" + "\n".join(spec["rows"]) + "\n", encoding="utf-8")
    for name, text in spec["files"].items():
        if name not in drop:
            (folder / name).write_text(text, encoding="utf-8")
    meta = pd.read_csv(folder / spec["metadata"], dtype=str, keep_default_na=False)
    labels = sorted(set(meta["primary_label"]))
    for i, (label, name) in enumerate(zip(meta["primary_label"], meta["filename"])):
        relative = f"{label}/{name}" if spec["audio"] == "train_short_audio" else name
        _write(folder / spec["audio"] / relative, _tone(CLIP_S, 300.0 * 1.8 ** labels.index(label), seed=i))
    seconds = spec.get("soundscape_s", SOUNDSCAPE_S)
    folders = (("test_soundscapes", spec["soundscapes"]), ("train_soundscapes", spec.get("train_soundscapes", ())))
    for where, names in folders:
        for k, name in enumerate(names):
            parts = [_tone(seconds / len(labels), 300.0 * 1.8 ** j, seed=100 + k) for j in range(len(labels))]
            _write(folder / where / name, np.concatenate(parts)[: int(seconds * SAMPLE_RATE_HZ)])
    return folder
