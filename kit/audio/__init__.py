"""Stage 1, audio: files -> mono float32 samples -> training crops and soundscape windows.

`io` reads files (soundfile, any channels -> mono, resampling, errors naming the file); `crops` extends a
recording by the pad mode and cuts training crops as slices of that extension; `windows` cuts a soundscape's
scoring windows from the same extension, streamed block by block; `streaming` feeds windows of many files to
the model (a background decoder, or lockstep decoding on small CPUs). Nothing here knows about features or
models.
"""
from kit.audio.cache import AudioCache
from kit.audio.crops import (crop_starts, extension_index, load_crops, pad_to_length, segment, split_crops,
                             valid_samples, waveform_pad_mode)
from kit.audio.io import AUDIO_SUFFIXES, AudioError, audio_info, iter_audio_files, load_audio, resample
from kit.audio.streaming import take_rows, window_stream
from kit.audio.windows import (WindowBatch, WindowRowError, input_offset_bounds, iter_windows, moved_input_start,
                               stream_history, window_count, window_crops, window_input_start, window_rows,
                               windows_from_array)

__all__ = ["AUDIO_SUFFIXES", "AudioCache", "AudioError", "audio_info", "load_audio", "resample", "iter_audio_files",
           "extension_index",
           "segment", "pad_to_length", "waveform_pad_mode", "valid_samples", "crop_starts", "split_crops", "load_crops",
           "window_count", "window_input_start", "input_offset_bounds", "moved_input_start", "WindowBatch",
           "windows_from_array", "iter_windows", "stream_history", "take_rows", "window_stream", "WindowRowError",
           "window_rows", "window_crops"]
