"""Stage 2, features: waveform crops -> normalized log-mel / MFCC spectrograms, the one front-end of training
and inference.

`frontend` holds the pure functions (filterbanks, STFT power, dB with a per-item clamp, per-item
normalization, spectrogram mirroring) and `FeatureExtractor`, the thin nn.Module every model and the
submission path call. `stft` holds mel spectrograms built from exportable ops (a factorized FFT of MatMul/Mul,
ONNX's STFT operator, a DFT conv1d) that equal the front-end's to float32 rounding; the ONNX export sets one as
the extractor's `mel_step` while tracing (`mel_step_of`).
"""
from kit.features.frontend import (FeatureExtractor, cpu_chunk_items, extract, mel_filterbank, mel_power, normalize,
                                   power_to_db)
from kit.features.stft import MEL_IMPLS, mel_step_of

__all__ = ["FeatureExtractor", "extract", "mel_filterbank", "mel_power", "power_to_db", "normalize",
           "cpu_chunk_items", "MEL_IMPLS", "mel_step_of"]
