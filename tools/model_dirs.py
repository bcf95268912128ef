"""What the test-model generators (gen_models.py, gen_tf_models.py) share: each model is
built in OUT/.tmp-M and swapped into OUT/M only when complete, with a .stamp file whose text
says which generator and library versions made it, so that an up-to-date model is skipped.

Standard library only: the generators run under different interpreters (Debian's
/usr/bin/python3, an engine's virtual environment).
"""
import os
import shutil
import sys
import time


def up_to_date(d, stamp):
    """True when directory d holds a model made with exactly this stamp text."""
    return up_to_date_file(os.path.join(d, ".stamp"), stamp)


def up_to_date_file(path, stamp):
    """True when the stamp file at path holds exactly this text."""
    try:
        with open(path) as f:
            return f.read() == stamp
    except OSError:
        return False


def swap_in(out, name, tmp):
    """Moves the finished directory tmp to OUT/NAME; the old one is moved aside first, so the
    final path is always either absent or complete."""
    final = os.path.join(out, name)
    old = os.path.join(out, f".old-{name}")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def generate_all(tool, out, names, stamp, generate, force=False):
    """Makes OUT/NAME for each name with generate(name, tmp_dir) -> {output: (mean, std)},
    skipping those up to date unless force. Returns the exit status: 0, or 1 after the first
    model that failed (its temporary directory removed, the previous model left in place)."""
    os.makedirs(out, exist_ok=True)
    t_all = time.monotonic()
    for name in names:
        final = os.path.join(out, name)
        if not force and up_to_date(final, stamp):
            print(f"{name}: up to date", flush=True)
            continue
        t0 = time.monotonic()
        tmp = os.path.join(out, f".tmp-{name}")
        shutil.rmtree(tmp, ignore_errors=True)  # leftover of an interrupted run
        os.makedirs(tmp)
        try:
            stats = generate(name, tmp)
        except Exception as e:
            shutil.rmtree(tmp, ignore_errors=True)
            print(f"{tool}: FAILED {name}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        with open(os.path.join(tmp, ".stamp"), "w") as f:
            f.write(stamp)
        swap_in(out, name, tmp)
        s = " ".join(f"{n}: mean={m:.4g} std={sd:.4g}" for n, (m, sd) in stats.items())
        print(f"{name}: generated in {time.monotonic() - t0:.2f}s ({s})", flush=True)
    print(f"total {time.monotonic() - t_all:.2f}s")
    return 0


def make_twins(tool, names, make_twin, engine, failure):
    """Runs make_twin(name) -> bool (False: up to date) for each name; returns the exit status:
    0, or 1 after the first twin whose check failed (an exception of type `failure`, reported
    in one line; anything else propagates with its traceback)."""
    for name in names:
        try:
            if not make_twin(name):
                print(f"{name}: {engine} twin up to date", flush=True)
        except failure as e:
            print(f"{tool}: FAILED twin of {name}: {e}", file=sys.stderr)
            return 1
    return 0
