"""Exponential moving average of a model's weights (`ema_decay`): the averaged copy is what training
validates and saves, so best.ckpt / last.ckpt hold the smoother weights; the raw ones are kept for resuming.

Parameters: ema = decay * ema + (1 - decay) * weights after every optimizer step, with the decay warmed up as
min(decay, (1 + step) / (warmup_steps + step)) so the first steps are not dominated by the random initialization.
Until the cap `decay` is reached, the average weighs step t by about (t + warmup_steps) ** (warmup_steps - 2):
with the default 10 it is mostly the last ~1/9 of a short run, with 3 a linear ramp over the whole run.
Buffers (BatchNorm statistics) are copied.
"""
from __future__ import annotations

import copy

import torch


class ModelEma:
    def __init__(self, model: torch.nn.Module, decay: float, warmup_steps: int = 10):
        self.decay, self.warmup_steps, self.steps = float(decay), int(warmup_steps), 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.averaged = {name for name, p in self.module.named_parameters() if p.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (self.warmup_steps + self.steps))
        ema_state, model_state = self.module.state_dict(), model.state_dict()
        for name, value in ema_state.items():
            source = model_state[name].detach()
            if name in self.averaged:
                value.mul_(d).add_(source.to(value.dtype), alpha=1 - d)
            else:
                value.copy_(source)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "weights": {k: v.detach().cpu() for k, v in self.module.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.module.load_state_dict(state["weights"])


__all__ = ["ModelEma"]
