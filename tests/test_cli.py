"""The ``npsrcnn`` entry point: overview, dispatch, error prefixes for ``npsrcnn X`` and ``python -m npsrcnn.X``."""
import configparser

import pytest
from conftest import REPO, assert_one_line_error, run_python

from npsrcnn import __main__ as entry


def test_overview_lists_every_command(capsys):
    assert entry.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("npsrcnn 0.") and "usage: npsrcnn <command> [args]" in out
    for name in entry.COMMANDS:
        assert f"\n  {name} " in out
    assert entry.main(["--help"]) == 0 and capsys.readouterr().out == out


def test_python_m_npsrcnn_prints_the_same_overview(tmp_path):
    r = run_python("-m", "npsrcnn", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == entry.overview("python -m npsrcnn") + "\n"


@pytest.mark.parametrize("name", list(entry.COMMANDS))
def test_every_command_dispatches_with_its_own_usage_line(capsys, name):
    assert entry.main([name, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: npsrcnn {name} ")
    assert entry.main(["help", name]) == 0
    assert capsys.readouterr().out.startswith(f"usage: npsrcnn {name} ")


def test_unknown_command_is_one_line_with_a_suggestion(capsys):
    rc = entry.main(["trian", "--epochs", "1"])
    err = capsys.readouterr().err
    assert_one_line_error(rc, err, "npsrcnn: error: unknown command 'trian'; did you mean 'train'?")
    rc = entry.main(["xyz"])
    assert_one_line_error(rc, capsys.readouterr().err, "choose from train, upscale")
    rc = entry.main(["help", "xyz"])
    assert_one_line_error(rc, capsys.readouterr().err, "unknown command 'xyz'")
    assert entry.main(["help"]) == 0 and capsys.readouterr().out == entry.overview("npsrcnn") + "\n"


def test_errors_name_the_form_the_command_was_called_by(capsys):
    assert_one_line_error(entry.main(["train", "--epochs", "0"]), capsys.readouterr().err,
                          "npsrcnn train: error: --epochs must be at least 1")
    r = run_python("-m", "npsrcnn", "train", "--epochs", "0")
    assert_one_line_error(r.returncode, r.stderr, "python -m npsrcnn train: error: --epochs must be at least 1")
    r = run_python("-m", "npsrcnn.train", "--epochs", "0")
    assert_one_line_error(r.returncode, r.stderr, "python -m npsrcnn.train: error: --epochs must be at least 1")
    assert_one_line_error(entry.main(["data", "fetch", "--retries", "-1"]), capsys.readouterr().err,
                          "npsrcnn data: error: --retries")
    assert_one_line_error(entry.main(["prepare", "--bogus"]), capsys.readouterr().err,
                          "npsrcnn prepare: error: the following arguments are required")


def test_version(capsys):
    from npsrcnn import __version__

    assert entry.main(["--version"]) == 0 and capsys.readouterr().out == f"npsrcnn {__version__}\n"


def test_setup_cfg_declares_the_console_script():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    scripts = [line.strip() for line in cfg["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    assert scripts == ["npsrcnn = npsrcnn.__main__:main"]
    module, func = scripts[0].split(" = ")[1].split(":")
    assert getattr(__import__(module, fromlist=[func]), func) is entry.main
