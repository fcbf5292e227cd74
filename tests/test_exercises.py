"""The exercises' grader: it passes the lesson's own answers, and fails every blanked function."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ANSWERS = """
from npsrcnn.lesson import conv2d_backward, dx_full_correlation, relu_backward, sgd_momentum_caffe, srcnn_backward, unpad_grad
from npsrcnn.lesson import col2im as col2im_by_hand, mse_loss


def mse_grad(pred, y):
    return mse_loss(pred, y)[1]
"""


def grade(path):
    env = dict(os.environ, NPSRCNN_EXERCISES=str(path), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "exercises/test_backprop.py"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_grader_passes_the_lessons_answers(tmp_path):
    answers = tmp_path / "answers.py"
    answers.write_text(ANSWERS)
    res = grade(answers)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "12 passed" in res.stdout  # every exercise


def test_grader_fails_the_blank_exercises():
    res = grade(REPO / "exercises" / "backprop.py")
    assert res.returncode == 1
    assert "12 failed" in res.stdout and "passed" not in res.stdout and "NotImplementedError" in res.stdout
