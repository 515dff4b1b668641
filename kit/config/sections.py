"""The config sections (frozen dataclasses), one per stage that reads them, each validating its own values
with messages that say what to change."""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass

PAD_MODES = ("wrap", "constant", "reflect", "mirror")
MIRROR_PLACEMENTS = ("waveform", "spectrogram")
FEATURE_KINDS = ("mel", "mfcc", "mel+mfcc")
NORMALIZATIONS = ("standard", "minmax", "none")
FLAVOURS = ("librosa", "torchaudio")
HEADS = ("mlp", "sed")
LOSSES = ("bce", "focal", "ce", "bce+ce")
PLACEMENTS = ("random", "start")
CROP_PLACEMENTS = ("uniform", "start", "energy")


class ConfigError(ValueError):
    """A configuration value is invalid; the message says what to change."""


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")


def _positive(name: str, value) -> None:
    if not value > 0:
        raise ConfigError(f"{name}={value!r} must be > 0")


def _probability(name: str, value) -> None:
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={value!r} is a probability: it must be in [0, 1]")


def _range(name: str, value, low=-math.inf, high=math.inf) -> None:
    """A (min, max) pair inside [low, high]."""
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ConfigError(f"{name}={','.join(map(str, value))} must be two numbers min,max with "
                          f"{low:g} <= min <= max <= {high:g}")


@dataclass(frozen=True)
class AudioConfig:
    """How a recording becomes fixed-length waveform crops (training) or windows (inference)."""

    sample_rate_hz: int = 32000
    crop_s: float = 5.0               # model input length per crop
    crops_per_recording: int = 1      # waveform crops per training recording, pooled against its label
    #                                   (melspecs_per_audio before kit 0.3: still read, kit.config.aliases)
    window_s: float = 5.0             # scoring window of the soundscapes (BirdCLEF: 5 s)
    pad_mode: str = "constant"        # constant (silence) | wrap (loop) | reflect | mirror
    mirror_placement: str = "waveform"  # only for pad_mode="mirror": mirror samples or spectrogram frames
    short_placement: str = "random"   # training: a recording shorter than its crops starts at a random offset
    #                                   inside them (random) or at 0 (start); validation/inference: at 0
    infer_crop_s: typing.Optional[float] = None  # model input at inference if not crop_s (e.g. train a SED
    #                                   model on 20 s crops, predict 5 s windows); None = crop_s

    def __post_init__(self):
        _positive("sample_rate_hz", self.sample_rate_hz)
        _positive("crop_s", self.crop_s)
        _positive("window_s", self.window_s)
        if self.infer_crop_s is not None:
            _positive("infer_crop_s", self.infer_crop_s)
        if int(self.crops_per_recording) != self.crops_per_recording or self.crops_per_recording < 1:
            raise ConfigError(f"crops_per_recording={self.crops_per_recording!r} must be an integer >= 1")
        _choice("pad_mode", self.pad_mode, PAD_MODES)
        _choice("mirror_placement", self.mirror_placement, MIRROR_PLACEMENTS)
        _choice("short_placement", self.short_placement, PLACEMENTS)
        if self.mirror_placement == "spectrogram" and self.pad_mode != "mirror":
            raise ConfigError("mirror_placement='spectrogram' needs pad_mode='mirror'; "
                              "set pad_mode=mirror or mirror_placement=waveform")
        for name in ("crop_s", "window_s") + (("infer_crop_s",) if self.infer_crop_s is not None else ()):
            samples = getattr(self, name) * self.sample_rate_hz
            if abs(samples - round(samples)) > 1e-6:
                raise ConfigError(f"{name}={getattr(self, name)} s is {samples} samples at "
                                  f"{self.sample_rate_hz} Hz: choose a length that is a whole number of samples")

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_s * self.sample_rate_hz))

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate_hz))


@dataclass(frozen=True)
class FeatureConfig:
    """Spectrogram features; `flavour='librosa'` matches librosa.feature.melspectrogram + power_to_db."""

    kind: str = "mel"                 # mel | mfcc | mel+mfcc (stacked as channels)
    n_fft: int = 2048
    hop_length: int = 500             # 5 s at 32 kHz = 320 hops (512 would give 312.5)
    n_mels: int = 128
    n_mfcc: int = 128                 # must equal n_mels for mel+mfcc (channels share one height)
    f_min_hz: float = 20.0
    f_max_hz: typing.Optional[float] = None  # None = Nyquist
    top_db: typing.Optional[float] = 80.0    # per-item clamp below the item's maximum; None = off
    norm_mel: str = "standard"        # standard | minmax | none, per item
    norm_mfcc: str = "standard"       # separate from the mel's: the origin log measured this
    flavour: str = "librosa"          # librosa (slaney mel, slaney norm, constant pad) | torchaudio defaults

    def __post_init__(self):
        _choice("kind", self.kind, FEATURE_KINDS)
        _choice("norm_mel", self.norm_mel, NORMALIZATIONS)
        _choice("norm_mfcc", self.norm_mfcc, NORMALIZATIONS)
        _choice("flavour", self.flavour, FLAVOURS)
        for name in ("n_fft", "hop_length", "n_mels", "n_mfcc"):
            _positive(name, getattr(self, name))
        if self.hop_length > self.n_fft:
            raise ConfigError(f"hop_length={self.hop_length} > n_fft={self.n_fft}: frames would skip samples")
        if self.kind != "mel" and self.n_mfcc > self.n_mels:  # (n_mfcc is unused by kind=mel)
            raise ConfigError(f"n_mfcc={self.n_mfcc} > n_mels={self.n_mels}: lower n_mfcc or raise n_mels")
        if self.kind == "mel+mfcc" and self.n_mfcc != self.n_mels:
            raise ConfigError(f"kind='mel+mfcc' stacks channels of one height: set n_mfcc={self.n_mels} "
                              f"(= n_mels), not {self.n_mfcc}")
        if self.f_min_hz < 0 or (self.f_max_hz is not None and self.f_max_hz <= self.f_min_hz):
            raise ConfigError(f"need 0 <= f_min_hz < f_max_hz, got {self.f_min_hz}, {self.f_max_hz}")
        if self.top_db is not None and self.top_db <= 0:
            raise ConfigError(f"top_db={self.top_db} must be > 0 or null")

    @property
    def channels(self) -> int:
        return 2 if self.kind == "mel+mfcc" else 1

    @property
    def height(self) -> int:
        return self.n_mfcc if self.kind == "mfcc" else self.n_mels


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "cnn"             # cnn | rnn | any timm name | tv:<torchvision name>
    pretrained_path: typing.Optional[str] = None  # local weights file (wins over `pretrained`)
    pretrained: str = "auto"          # auto | imagenet | none | hf-hub:ORG/NAME: hub weights while training
    #                                   (kit.models.hub; auto: timm backbones' ImageNet weights when reachable)
    head_hidden: typing.Tuple[int, ...] = (256,)  # Linear->BatchNorm1d->PReLU blocks before the classifier
    head_dropout: float = 0.0
    crop_pool: str = "mean"           # mean | max over the crops of one recording
    pool_over: str = "logits"         # logits | probs
    max_params_m: float = 50.0
    over_budget: str = "error"        # error | warn
    cnn_channels: typing.Tuple[int, ...] = (16, 32, 64, 128)
    rnn_hidden: int = 128
    rnn_type: str = "gru"             # gru | lstm
    features_in_model: bool = True    # True: the model takes waveforms; False: the dataset makes features
    head: str = "mlp"                 # mlp (pooled features -> hidden blocks) | sed (frame-wise, attention pooling)
    sed_hidden: int = 256             # sed: width of the per-frame projection before the frame classifier
    drop_path_rate: float = 0.0       # stochastic depth of timm backbones that have it (training only)

    def __post_init__(self):
        _choice("head", self.head, HEADS)
        hub = str(self.pretrained).strip()
        if hub not in ("auto", "imagenet", "none") and "/" not in hub.split(":", 1)[-1]:
            raise ConfigError(f"pretrained={self.pretrained!r}: use auto, imagenet, none, or a Hugging Face hub "
                              f"name (hf-hub:ORG/NAME, e.g. hf-hub:timm/efficientnet_b0.ra_in1k); a local file "
                              f"goes in pretrained_path=")
        if int(self.sed_hidden) != self.sed_hidden or self.sed_hidden < 1:
            raise ConfigError(f"sed_hidden={self.sed_hidden!r} must be an integer >= 1")
        if not 0 <= self.drop_path_rate < 1:
            raise ConfigError(f"drop_path_rate={self.drop_path_rate} must be in [0, 1)")
        _choice("crop_pool", self.crop_pool, ("mean", "max"))
        _choice("pool_over", self.pool_over, ("logits", "probs"))
        _choice("over_budget", self.over_budget, ("error", "warn"))
        _choice("rnn_type", self.rnn_type, ("gru", "lstm"))
        if not 0 <= self.head_dropout < 1:
            raise ConfigError(f"head_dropout={self.head_dropout} must be in [0, 1)")
        _positive("max_params_m", self.max_params_m)


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adamw"          # adam | adamw
    lr: float = 1e-3
    weight_decay: float = 0.0         # the origin log found none better
    schedule: str = "cosine"          # constant | cosine (both with linear warm-up)
    warmup_frac: float = 0.05
    batch_size: int = 16
    epochs: int = 40
    amp: bool = True                  # used on CUDA only
    grad_clip_norm: typing.Optional[float] = 5.0
    device: str = "auto"              # auto (cuda -> mps -> cpu) | cpu | cuda | cuda:N | mps
    pin_memory: bool = True           # used on CUDA only
    num_workers: int = 0
    seed: int = 0
    loss: str = "bce"                 # bce | focal | ce (softmax cross-entropy; inference applies sigmoid) | bce+ce
    focal_gamma: float = 2.0          # loss=focal: down-weights easy (confident) targets
    label_smoothing: float = 0.0      # targets pulled towards 1/2 (bce, focal) or uniform (ce) by this much
    ema_decay: float = 0.99           # exponential moving average of the weights (validated and saved); 0 = off
    ema_warmup_steps: int = 10        # EMA decay warmed up as min(ema_decay, (1 + step) / (this + step))

    def __post_init__(self):
        _choice("loss", self.loss, LOSSES)
        if self.focal_gamma < 0:
            raise ConfigError(f"focal_gamma={self.focal_gamma} must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if not (self.ema_decay == 0 or 0.5 <= self.ema_decay < 1):
            raise ConfigError(f"ema_decay={self.ema_decay} must be 0 (off) or in [0.5, 1), e.g. 0.999")
        if self.ema_warmup_steps < 2:
            raise ConfigError(f"ema_warmup_steps={self.ema_warmup_steps} must be >= 2 (1 would keep the random "
                              f"initial weights in the average)")
        _choice("optimizer", self.optimizer, ("adam", "adamw"))
        _choice("schedule", self.schedule, ("constant", "cosine"))
        _positive("lr", self.lr)
        _positive("batch_size", self.batch_size)
        _positive("epochs", self.epochs)
        if not 0 <= self.warmup_frac < 1:
            raise ConfigError(f"warmup_frac={self.warmup_frac} must be in [0, 1)")


@dataclass(frozen=True)
class DataConfig:
    secondary_label_weight: float = 0.5
    data_fraction: float = 1.0        # fraction of recordings used (stratified), for quick runs (was data_percentage)
    valid_frac: float = 0.0           # 0: train on every recording, validate on a slice of them; 0.2: held out
    group_column: typing.Optional[str] = None  # metadata column (author, url, ...): a group never straddles the split
    min_rating: float = 0.0           # drop recordings whose metadata `rating` (0-5) is lower; 0 keeps all
    keep_unrated: bool = True         # rating 0 or empty = unrated (iNat, CSA): kept by min_rating when true
    rating_weight: bool = False       # weight each recording's loss by rating / 5 (unrated: 1)
    validate_train_pct: float = 0.33  # valid_frac=0: the seeded slice of the training recordings validated on
    bad_files: str = "skip"           # skip (with a warning and a summary) | stop
    split_seed: int = 0
    cache_audio_mb: float = 2048.0    # decoded training recordings kept in memory across epochs (per worker)
    soundscape_labels: bool = True    # train on train_soundscapes_labels.csv's windows where the folder has one (2026)
    soundscape_weight: float = 1.0    # loss weight of a labelled soundscape window (a recording weighs 1)
    valid_set: str = "split"          # split (recordings: valid_frac) | soundscapes (the labelled soundscape windows)
    soundscape_valid_frac: float = 1.0  # valid_set=soundscapes: share of the labelled soundscapes validated on
    teacher_embeddings: typing.Optional[str] = None  # a foreign teacher's window embeddings (pseudo-label
    #                                   --teacher): + a cosine loss to them via a projection head (kit.train.distill)
    embed_loss_weight: float = 1.0    # that loss's weight beside the label loss
    embed_epochs: int = 0             # only in the first N epochs (distil, then fine-tune); 0 = every epoch
    # long, weakly labelled recordings (kit.train.longrec; docs/real-birds.md)
    item_every_s: float = 15.0        # an epoch gives a recording one item per this many seconds of it (0: one item)
    max_items_per_recording: int = 8  # ... at most this many (a 5-minute recording is not 60 short ones)
    crop_placement: str = "energy"    # training crops: uniform (random offset) | start (offset 0) | energy (offsets
    #                                   drawn in proportion to the crop's 1-10 kHz band energy)
    independent_crops: bool = False   # crops_per_recording > 1: each crop placed on its own, not one run of crops
    quiet_crop_db: float = 0.0        # a crop this many dB below its recording's loudest crop is "quiet" (0: off)
    quiet_target_scale: float = 0.0   # ... and its target is multiplied by this (0: a no-call item)
    valid_windows: int = 0            # validate on up to this many 5 s windows of each validation recording (the
    #                                   inference windows, evenly spread); 0: one item per recording

    def __post_init__(self):
        _choice("bad_files", self.bad_files, ("skip", "stop"))
        _choice("crop_placement", self.crop_placement, CROP_PLACEMENTS)
        if self.item_every_s < 0:
            raise ConfigError(f"item_every_s={self.item_every_s} must be >= 0 (0: one item per recording and epoch)")
        for name in ("max_items_per_recording", "valid_windows"):
            value = getattr(self, name)
            if int(value) != value or value < (1 if name == "max_items_per_recording" else 0):
                raise ConfigError(f"{name}={value!r} must be an integer >= "
                                  f"{1 if name == 'max_items_per_recording' else 0}")
        if not 0 <= self.quiet_crop_db <= 80:
            raise ConfigError(f"quiet_crop_db={self.quiet_crop_db} must be in [0, 80] dB (0: off)")
        _probability("quiet_target_scale", self.quiet_target_scale)
        if not 0 <= self.min_rating <= 5:
            raise ConfigError(f"min_rating={self.min_rating} must be in [0, 5] (the metadata's rating scale); "
                              f"0 keeps every recording")
        if self.group_column is not None and not str(self.group_column).strip():
            raise ConfigError("group_column='' names no column: set it to a metadata column such as author, or "
                              "none for the split stratified by primary label only")
        for name in ("data_fraction", "validate_train_pct"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be in (0, 1]")
        if not 0 <= self.valid_frac < 1:
            raise ConfigError(f"valid_frac={self.valid_frac} must be in [0, 1)")
        if self.cache_audio_mb < 0:
            raise ConfigError(f"cache_audio_mb={self.cache_audio_mb} must be >= 0 (0 = decode every epoch)")
        if not 0 <= self.secondary_label_weight <= 1:
            raise ConfigError(f"secondary_label_weight={self.secondary_label_weight} must be in [0, 1]")
        _choice("valid_set", self.valid_set, ("split", "soundscapes"))
        if not self.soundscape_weight > 0:
            raise ConfigError(f"soundscape_weight={self.soundscape_weight} must be > 0 (set soundscape_labels=false "
                              f"to train without the labelled soundscapes)")
        if not 0 < self.soundscape_valid_frac <= 1:
            raise ConfigError(f"soundscape_valid_frac={self.soundscape_valid_frac} must be in (0, 1] (the share of "
                              f"the labelled soundscapes validated on with valid_set=soundscapes)")
        if not self.embed_loss_weight > 0 or int(self.embed_epochs) != self.embed_epochs or self.embed_epochs < 0:
            raise ConfigError(f"embed_loss_weight={self.embed_loss_weight} must be > 0 and embed_epochs="
                              f"{self.embed_epochs!r} an integer >= 0 (0 = every epoch)")


@dataclass(frozen=True)
class PseudoConfig:
    """Pseudo-label rounds (`kit train --pseudo CSV`): how the CSV's windows train, and how a next round labels
    them again. The labelling keys are what `kit pseudo-label` applied: a run takes them from the CSV it trains on
    (kit.train.resolve_config), so its saved config says how its labels were made."""

    pseudo_csv: typing.Optional[str] = None  # soft labels of extra windows (python -m kit pseudo-label)
    pseudo_ratio: float = 0.5         # pseudo-labelled windows per labelled recording in each epoch (measured)
    pseudo_mixup_p: float = 0.5       # the mixup_p a run with pseudo_csv trains with (resolve_config sets mixup_p)
    pseudo_init: str = "teacher"      # a run with pseudo_csv starts from the weights that made it | scratch
    pseudo_epoch_frac: float = 1.0    # a run that starts from its teacher trains this fraction of `epochs`
    pseudo_jitter_s: float = 0.0      # each epoch moves a pseudo window's input by up to +-this (0: the window itself)
    pseudo_rounds: int = 0            # rounds of `kit train --pseudo` (0: 2 when starting from its teacher, else 1)
    pseudo_min_confidence: float = 0.3  # labelling: leave out windows whose top probability is below this
    pseudo_power: float = 1.0         # labelling: p ** power (sharpening)
    pseudo_threshold: float = 0.0     # labelling: probabilities below this set to 0
    pseudo_top_k: int = 0             # labelling: keep each window's k highest (0: all)
    pseudo_shift_s: float = 0.0       # labelling: average with the input moved by -+this many seconds (0: off)

    def __post_init__(self):
        _probability("pseudo_mixup_p", self.pseudo_mixup_p)
        _choice("pseudo_init", self.pseudo_init, ("teacher", "scratch"))
        if not 0 < self.pseudo_epoch_frac <= 1:
            raise ConfigError(f"pseudo_epoch_frac={self.pseudo_epoch_frac} must be in (0, 1] (the fraction of "
                              f"`epochs` a run that starts from its teacher trains)")
        if not 0 <= self.pseudo_jitter_s < 5:
            raise ConfigError(f"pseudo_jitter_s={self.pseudo_jitter_s} must be in [0, 5) seconds (how far a pseudo "
                              f"window's input may move from the window)")
        if self.pseudo_ratio < 0:
            raise ConfigError(f"pseudo_ratio={self.pseudo_ratio} must be >= 0 (pseudo windows per labelled "
                              f"recording in each epoch)")
        if int(self.pseudo_rounds) != self.pseudo_rounds or self.pseudo_rounds < 0:
            raise ConfigError(f"pseudo_rounds={self.pseudo_rounds!r} must be an integer >= 0 (0: the default rule)")
        if not 0 <= self.pseudo_min_confidence < 1:
            raise ConfigError(f"pseudo_min_confidence={self.pseudo_min_confidence} must be in [0, 1)")
        _positive("pseudo_power", self.pseudo_power)
        if not 0 <= self.pseudo_threshold < 1:
            raise ConfigError(f"pseudo_threshold={self.pseudo_threshold} must be in [0, 1)")
        if int(self.pseudo_top_k) != self.pseudo_top_k or self.pseudo_top_k < 0:
            raise ConfigError(f"pseudo_top_k={self.pseudo_top_k!r} must be an integer >= 0 (0: keep all)")
        if not 0 <= self.pseudo_shift_s < 5:
            raise ConfigError(f"pseudo_shift_s={self.pseudo_shift_s} must be in [0, 5) seconds")

    def labelling(self) -> dict:
        """The keyword arguments of kit.infer.pseudo_label these keys stand for."""
        return {"min_confidence": self.pseudo_min_confidence, "power": self.pseudo_power,
                "threshold": self.pseudo_threshold, "top_k": self.pseudo_top_k, "shift_s": self.pseudo_shift_s}


@dataclass(frozen=True)
class InferConfig:
    infer_batch_size: int = 32
    tta: str = "none"                 # none | shift (average with a half-window-shifted view)
    smooth_weights: typing.Tuple[float, ...] = ()  # e.g. (0.25, 0.5, 0.25) across neighbouring windows
    fallback_prob: float = 0.0        # for labels the model lacks and rows that could not be computed
    decision_threshold: float = 0.5   # long-format submissions (BirdCLEF 2022): True where probability >= this

    def __post_init__(self):
        _choice("tta", self.tta, ("none", "shift"))
        _positive("infer_batch_size", self.infer_batch_size)
        if self.smooth_weights and len(self.smooth_weights) % 2 == 0:
            raise ConfigError(f"smooth_weights={self.smooth_weights} needs an odd length (centred kernel)")
        if not 0 <= self.fallback_prob <= 1:
            raise ConfigError(f"fallback_prob={self.fallback_prob} must be in [0, 1]")
        if not 0 <= self.decision_threshold <= 1:
            raise ConfigError(f"decision_threshold={self.decision_threshold} must be in [0, 1]")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-only augmentation (kit.train.augment); inference never reads this section. Probabilities are
    per training item (mixup, cutmix: per item of the batch), seeded by (seed, epoch, index)."""

    mixup_p: float = 0.0              # mix another item of the batch into this one (waveforms); off: measured
    mixup_alpha: float = 1.0          # weight of this item ~ Beta(alpha, alpha), folded to >= 0.5
    mixup_targets: str = "max"        # max (both sounds present) | blend (weighted like the waveforms)
    cutmix_p: float = 0.0             # replace a time span of this item by another item's (targets: max)
    background_dir: typing.Optional[str] = None  # folder of noise / no-call recordings (or train_soundscapes/)
    background_p: float = 0.0         # add a random background crop at a random SNR
    background_snr_db: typing.Tuple[float, ...] = (0.0, 20.0)
    noise_p: float = 0.3              # add coloured noise (white ... brown) at a random SNR
    noise_snr_db: typing.Tuple[float, ...] = (0.0, 30.0)
    gain_p: float = 0.0               # random gain in [-gain_db, gain_db] (matters with background / noise)
    gain_db: float = 6.0
    shift_p: float = 0.5              # circular shift of the crop by a random amount (time shift)
    empty_p: float = 0.05             # replace the item by background/noise only, target all zeros
    specaug_p: float = 0.5            # SpecAugment: time and frequency masks on the features
    time_masks: int = 2
    time_mask_frames: int = 30
    freq_masks: int = 2
    freq_mask_bins: int = 16

    def __post_init__(self):
        for name in ("mixup_p", "cutmix_p", "background_p", "noise_p", "gain_p", "shift_p", "empty_p",
                     "specaug_p"):
            _probability(name, getattr(self, name))
        _positive("mixup_alpha", self.mixup_alpha)
        _choice("mixup_targets", self.mixup_targets, ("max", "blend"))
        _range("background_snr_db", self.background_snr_db, -30, 60)
        _range("noise_snr_db", self.noise_snr_db, -30, 80)
        if not 0 <= self.gain_db <= 40:
            raise ConfigError(f"gain_db={self.gain_db} must be in [0, 40]")
        for name in ("time_masks", "time_mask_frames", "freq_masks", "freq_mask_bins"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be an integer >= 0")
        if self.background_p > 0 and not self.background_dir:
            raise ConfigError(f"background_p={self.background_p} needs background_dir=<folder of background "
                              f"recordings> (or set background_p=0)")


SECTIONS = {"audio": AudioConfig, "features": FeatureConfig, "model": ModelConfig,
            "train": TrainConfig, "data": DataConfig, "pseudo": PseudoConfig, "infer": InferConfig,
            "augment": AugmentConfig}
