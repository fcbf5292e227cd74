"""The benchmark scripts run: each in a tiny mode, in its own process (they set thread counts before imports).

These check that a script starts, measures and reports; they assert no speed (speed is measured by
running the scripts, never in tests)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


def run_script(name, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / name), *args], capture_output=True, text=True,
                       env=env, timeout=300, cwd=REPO)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_interp_vs_conv_reports_every_method_as_json():
    out = json.loads(run_script("interp_vs_conv.py", "--threads", "1", "--sizes", "8", "--repeats", "1",
                                "--naive-sample", "4", "--skip-srcnn", "--no-plot", "--json"))
    text = json.dumps(out)
    assert "bicubic separable fast path" in text and "Numba 4-coef, per cell" in text and "Pillow BILINEAR" in text


def test_frontend_quality_compares_bicubic_and_bilinear(datasets, ref_weights):
    out = json.loads(run_script("frontend_quality.py", "--data", str(datasets), "--ref-weights", str(ref_weights),
                                "--datasets", "Set5", "--models", "9-1-5(91 images)", "--repeats", "1",
                                "--threads", "1", "--json"))
    (res,) = out["results"]
    psnr = {row["front_end"]: (row["front_end_psnr"], row["models"]["9-1-5(91 images)"]["psnr"]) for row in res["summary"]}
    assert psnr["bicubic"][0] == pytest.approx(30.39, abs=0.01)  # the authors' bicubic baseline, Set5 x3
    assert psnr["bicubic"][1] == pytest.approx(32.39, abs=0.01)  # and their published 9-1-5 value
    assert psnr["bilinear"][0] < psnr["bicubic"][0] and psnr["bilinear"][1] < psnr["bicubic"][1]


def test_bench_engine_quick_reports_every_workload_per_side():
    out = json.loads(run_script("bench_engine.py", "--quick", "--threads", "1", "--composed", "--json"))
    cfg = out["config"]
    assert cfg["threads"] == 1 and set(cfg["thread_env"].values()) == {1} and cfg["rounds"] == 1
    rows = out["workloads"]
    assert set(rows) == {f"{k}_{a}" for k in ("train", "infer", "composed", "unfused") for a in ("9-1-5", "9-5-5")}
    sides = ["npsrcnn"] + (["torch"] if cfg["torch"] else [])
    for name, row in rows.items():
        for side in (["npsrcnn"] if name.startswith(("composed", "unfused")) else sides):
            assert row[side]["median_s"] > 0 and len(row[side]["rounds_s"]) == 1
            assert ("patches_per_s" in row[side]) == (not name.startswith("infer"))
        assert ("speedup_vs_torch" in row) == (len(sides) == 2 and not name.startswith(("composed", "unfused")))
    assert rows["composed_9-1-5"]["slowdown_vs_train_step"] > 0 and rows["unfused_9-5-5"]["slowdown_vs_train_step"] > 0
    assert "jit_cold_cache" not in out  # --quick skips the compile measurement


def test_bench_engine_busy_core_table():
    text = run_script("bench_engine.py", "--quick", "--threads", "1", "--busy-core", "--no-torch", "--only", "infer",
                      "--arch", "9-1-5")
    assert "threads per side: NUMBA_NUM_THREADS=1" in text and "busy_core=True" in text
    assert "infer_9-1-5" in text and "train_9-1-5" not in text


def test_conv_methods_quick_times_every_variant():
    out = json.loads(run_script("conv_methods.py", "--quick", "--json"))
    assert set(out["results"]) == {f"{m} forward+backward" for m in ("im2col", "winograd2", "winograd4")}
    assert all(r["median_ms"] > 0 and r["runs"] >= 1 for r in out["results"].values())
    out = json.loads(run_script("conv_methods.py", "--quick", "--json", "--step", "9-5-5"))
    assert len(out["results"]) == 4 and any("without Winograd" in k for k in out["results"])


def test_winograd_kernels_times_every_transform_and_gemm():
    out = json.loads(run_script("winograd_kernels.py", "--quick", "--json"))
    assert {"tile transform V = BT d BT^T", "tile adjoint (into dx)", "GEMMs M = U @ V"} <= set(out["ms"])
    assert out["gemms_ms"] > 0 and out["transforms_ms"] > 0


def test_profile_step_splits_the_winograd_layer():
    out = json.loads(run_script("profile_step.py", "--arch", "9-5-5", "--batch", "32", "--repeats", "1",
                                "--threads", "1"))
    wino = out["winograd_ms"]
    assert {"tile_transform", "tile_transform_adjoint", "output_transform", "GEMMs and the rest"} <= set(wino)
    assert 0 < wino["tile_transform"] < wino["whole forward"] and wino["GEMMs and the rest"] > 0
    assert set(out["layers_ms"]) == {f"layer{i}_{d}" for i in (1, 2, 3) for d in ("forward", "backward")}


def test_profile_step_times_the_steps_own_gemms():
    """step_gemms_ms holds the GEMMs each layer's chosen method runs (Winograd's A*A products for 9-5-5's
    layer 2, im2col's for 9-1-5), and the GEMM-only ceiling is the batch over their sum."""
    for arch, layer2 in (("9-5-5", "layer2 winograd4 dU=V@dMt"), ("9-1-5", "layer2 dX W.T@dz")):
        out = json.loads(run_script("profile_step.py", "--arch", arch, "--batch", "32", "--repeats", "1",
                                    "--threads", "1"))
        own = out["step_gemms_ms"]
        assert layer2 in own and "layer1 forward W@cols" in own and "layer1 dX" not in " ".join(own)
        assert all(v > 0 for v in own.values())
        assert out["gemms_only_patches_per_s"] == round(32 / sum(own.values()) * 1e3)


def test_profile_step_names_each_threads_layers():
    """Two sub-batches on two worker threads at once: each thread's calls are its own layers 1, 2, 3, so
    layer 2 (the Winograd one) holds the Winograd strategy's time, not another layer's."""
    out = json.loads(run_script("profile_step.py", "--arch", "9-5-5", "--batch", "64", "--repeats", "2",
                                "--threads", "2"))
    layers, wino = out["layers_ms"], out["winograd_ms"]
    assert layers["layer2_forward"] >= wino["whole forward"] and layers["layer2_backward"] >= wino["whole backward"]
    assert layers["layer1_forward"] < wino["whole forward"]  # not labelled with layer 2's calls


def test_profile_step_infer_times_each_layer_of_predict():
    """--infer: 9-1-5's layer 1 runs once per fused run of rows, its 1x1 layer and layer 3 (fused with it)
    are in "the rest"; 9-5-5's layer 2 holds the Winograd strategy's forward."""
    one = json.loads(run_script("profile_step.py", "--arch", "9-1-5", "--infer", "--size", "40", "--repeats", "2",
                                "--threads", "1"))
    assert set(one["layers_ms"]) == {"layer1_forward"} and one["the rest_ms"] > 0
    assert sum(one["layers_ms"].values()) < one["predict_ms"]
    five = json.loads(run_script("profile_step.py", "--arch", "9-5-5", "--infer", "--size", "80", "--repeats", "2",
                                 "--threads", "2"))
    assert set(five["layers_ms"]) == {f"layer{i}_forward" for i in (1, 2, 3)}
    assert five["layers_ms"]["layer2_forward"] >= five["winograd_ms"]["whole forward"] > 0
    assert "tile_transform" in five["winograd_ms"] and "tile_transform_adjoint" not in five["winograd_ms"]


def test_predict_variants_times_each_variant_on_its_own_model():
    out = json.loads(run_script("predict_variants.py", "--size", "40", "--repeats", "2", "--variants",
                                "0:keep,16:keep,16:fresh"))
    assert set(out["ms"]) == {"0:keep", "16:keep", "16:fresh"}
    assert all(0 < v["min"] <= v["median"] for v in out["ms"].values())


def test_predict_variants_rejects_a_bad_variant():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "predict_variants.py"), "--variants", "16:warm"],
                       capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert p.returncode == 2 and "ROWS:keep or ROWS:fresh" in p.stderr


def test_bench_engine_save_writes_a_result_file_and_never_overwrites(tmp_path):
    """--save writes the command, the date, the machine and one record per workload, the printed table
    unchanged; an existing file or a missing folder is one line and exit code 2, the file left as it was."""
    out = tmp_path / "quick.json"
    args = ("--quick", "--threads", "1", "--no-torch", "--only", "infer", "--arch", "9-1-5")
    text = run_script("bench_engine.py", *args, "--save", str(out))
    assert "infer_9-1-5" in text and "save" not in text  # the table as without --save
    saved = json.loads(out.read_text())
    assert saved["command"].startswith("python benchmarks/bench_engine.py --quick") and str(out) in saved["command"]
    assert saved["threads"] == 1 and saved["rounds"] == 1 and saved["date"][:2] == "20"
    assert saved["machine"]["logical_cores"] >= 1 and saved["machine"]["numpy"] and saved["machine"]["torch"] is None
    (rec,) = saved["results"]
    assert rec["workload"] == "infer_9-1-5" and rec["unit"] == "s" and rec["npsrcnn"] > 0 and "torch" not in rec
    before = out.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for path in (out, tmp_path / "missing" / "r.json"):
        p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_engine.py"), *args, "--save", str(path)],
                           capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "--save" in p.stderr, p.stderr
        assert p.stdout == ""  # refused before measuring anything
    assert out.read_bytes() == before and sorted(tmp_path.iterdir()) == [out]
