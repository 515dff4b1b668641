"""kit.pipeline.sweep, kit.train.explog and the train/sweep CLIs: grid table + heat-map, atomic experiment log, --help."""
from __future__ import annotations

import pytest

from kit.config import Config, ConfigError
from kit.train.explog import append_run, format_changes, read_rows
from kit.pipeline import grid_configs, parse_grid, sweep
from train_data import TINY, tone_clips


def test_parse_grid_values_and_errors():
    assert parse_grid(["lr=1e-3,3e-4", "head_hidden=16;32,16"]) == [("lr", ["1e-3", "3e-4"]),
                                                                   ("head_hidden", ["16", "32,16"])]
    configs = grid_configs(Config(), parse_grid(["lr=1e-3,3e-4", "head_hidden=16;32,16"]))
    assert [c.model.head_hidden for _, _, c in configs] == [(16,), (32, 16), (16,), (32, 16)]
    assert [c.train.lr for _, _, c in configs] == [1e-3, 1e-3, 3e-4, 3e-4]
    assert len({name for name, _, _ in configs}) == 4
    for bad, message in (([], "at least one"), (["lr"], "key=v1,v2"), (["lrate=1"], "unknown config key"),
                         (["lr=1,1"], "repeats"), (["lr=1", "lr=2"], "twice")):
        with pytest.raises(ConfigError, match=message):
            parse_grid(bad)
    with pytest.raises(ConfigError, match="batch_size"):
        grid_configs(Config(), parse_grid(["batch_size=4,0"]))   # every config is checked before training


def test_experiment_log_appends_whole_rows_and_renders_markdown(tmp_path):
    log = tmp_path / "experiments.csv"
    append_run(log, {"run_id": "a", "changes": format_changes({"train.lr": 0.01, "model.head_hidden": [8, 4]}),
                     "valid_cmap": 0.5})
    append_run(log, {"run_id": "b|c", "changes": "(defaults)", "new_column": 3})
    rows = read_rows(log)
    assert [r["run_id"] for r in rows] == ["a", "b|c"]
    assert rows[0]["changes"] == "head_hidden=8,4 lr=0.01" and rows[1]["new_column"] == "3"
    assert rows[0]["new_column"] == "" and rows[1]["valid_cmap"] == ""
    markdown = (tmp_path / "experiments.md").read_text()
    assert "| b\\|c |" in markdown and markdown.count("\n| ") == 4   # header, rule, two rows
    assert not list(tmp_path.glob(".*tmp"))


def test_sweep_writes_table_heatmap_and_log(tmp_path, capsys):
    data = tone_clips(tmp_path / "data", per_label=3, seconds=1.0)
    base = Config().override(TINY + ["epochs=1"])
    result = sweep(base, data, tmp_path / "sweep", parse_grid(["lr=1e-2,1e-3", "batch_size=4,8"]))
    table = result["table"]
    assert len(table) == 4 and set(table["lr"]) == {"1e-2", "1e-3"}
    assert table["valid_cmap"].between(0, 1).all() and (table["epoch_s"] > 0).all()
    markdown = (tmp_path / "sweep" / "sweep.md").read_text()
    assert markdown.count("\n| 0") == 4 and "valid_cmap" in markdown
    assert (tmp_path / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert len(read_rows(tmp_path / "sweep" / "experiments.csv")) == 4
    assert "| run | lr | batch_size |" in capsys.readouterr().out
    one = sweep(base, data, tmp_path / "sweep1", parse_grid(["head_dropout=0,0.3"]))   # 1-D: a bar chart
    assert len(one["table"]) == 2 and (tmp_path / "sweep1" / "sweep.png").is_file()


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_cli_help_lists_every_config_key(command, capsys):
    from kit.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "train.lr = 0.001" in out and "audio.crops_per_recording = 1" in out and "--data" in out


def test_train_cli_reports_bad_data_without_traceback(tmp_path, capsys):
    from kit.cli import main

    (tmp_path / "bad.csv").write_text("file,category\nx.ogg,a\n")
    assert main(["train", "--data", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.csv: missing column" in err and "Traceback" not in err
