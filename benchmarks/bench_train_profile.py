"""Where a Trainer step spends its time and memory: polymodal vs Transformers, per phase and per op.

    python benchmarks/bench_train_profile.py [--threads 2] [--steps 3] [--top 25]

The set-up of ``bench_pipelines.py --only train`` (wav2vec2-base-shaped classifier, 4 × 3 s,
frozen feature encoder, same folder for both libraries). Each library runs in its own fresh
process: 2 warm-up steps, then ``--steps`` profiled ones. Printed per library:

* phase times per step (median): forward, backward (+ gradient clipping), optimizer (AdamW +
  schedule + zero_grad), data (collator and the rest of the loop); from time stamps taken in
  model hooks and Trainer callbacks, no profiler running;
* RSS sampled every 2 ms through the same steps: peak per phase (where the step's peak is);
* ``torch.profiler`` self-CPU time per op (with input shapes) for each phase, from one process
  holding both models and alternating their steps (so load swings on a shared machine hit both
  alike): forward + loss, backward, clipping (``max_grad_norm=1``), fused AdamW, ``zero_grad``,
  which is what both Trainers' steps run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipelines import NUM_LABELS, TRAIN_BATCH, TRAIN_SECONDS, make_checkpoint, quiet, speech  # noqa: E402

PHASES = ("forward", "backward", "optimizer", "data")
OP_PHASES = ("forward", "backward", "clip", "optimizer")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _malloc_in_use_mb() -> float:
    """glibc's bytes handed out (heap + mmapped chunks), from ``mallinfo2``; NaN elsewhere."""
    import ctypes

    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = Info
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return float("nan")
    return (info.uordblks + info.hblkhd) / 2**20


class PhaseClock:
    """Phase boundaries from the model's forward hooks and the Trainer's callback events."""

    def __init__(self):
        self.phase, self.marks = "data", []

    def switch(self, phase: str) -> None:
        self.marks.append((phase, time.perf_counter()))
        self.phase = phase

    def per_step(self) -> dict[str, float]:
        spans = defaultdict(list)
        for (phase, t0), (_, t1) in zip(self.marks, self.marks[1:]):
            spans[phase].append(t1 - t0)
        return {p: statistics.median(v) for p, v in spans.items() if v}


def worker(lib: str, folder: Path, threads: int, steps: int) -> dict:
    """Phase times and RSS of ``steps`` Trainer steps (after 2 warm-up steps) in this fresh process."""
    import torch

    torch.set_num_threads(threads)
    quiet()
    library = __import__("transformers" if lib == "hf" else "polymodal")
    model = library.AutoModelForAudioClassification.from_pretrained(str(folder))
    model.freeze_feature_encoder()
    warmup = 2
    total = warmup + steps
    rows = [{"input_values": speech(TRAIN_SECONDS, offset=1009 * i), "label": i % NUM_LABELS}
            for i in range(TRAIN_BATCH * (total + 1))]
    clock = PhaseClock()
    samples = []  # (phase, rss, malloc'd) every 2 ms while measuring
    state = {"measuring": False}

    def sampler():
        while not state.get("stop"):
            if state["measuring"]:
                samples.append((clock.phase, _rss_mb(), _malloc_in_use_mb()))
            time.sleep(0.002)

    model.register_forward_pre_hook(lambda *_: clock.switch("forward"))
    model.register_forward_hook(lambda *_: clock.switch("backward"))
    base = library.TrainerCallback

    class Marks(base):
        def on_step_begin(self, args, st, control, **kw):
            if st.global_step == warmup:
                state["measuring"] = True
                clock.marks.clear()
            clock.switch("data")

        def on_pre_optimizer_step(self, args, st, control, **kw):
            clock.switch("optimizer")

        def on_step_end(self, args, st, control, **kw):
            clock.switch("data")
            if st.global_step == total:
                state["measuring"] = False

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory() as out:
        args = library.TrainingArguments(
            output_dir=out, per_device_train_batch_size=TRAIN_BATCH, max_steps=total, learning_rate=3e-5,
            warmup_steps=1, save_strategy="no", eval_strategy="no", logging_steps=1000, report_to="none",
            disable_tqdm=True, seed=0, dataloader_num_workers=0,
        )
        trainer = library.Trainer(model=model, args=args, train_dataset=rows, callbacks=[Marks()])
        loss = trainer.train().training_loss
    state["stop"] = True
    thread.join()
    result = {"loss": loss, "phases": clock.per_step()}
    peaks, held = defaultdict(float), defaultdict(float)
    for phase, rss, in_use in samples:
        peaks[phase] = max(peaks[phase], rss)
        held[phase] = max(held[phase], in_use)
    result["rss_peak"], result["malloc_peak"] = dict(peaks), dict(held)
    return result


def ops_interleaved(libs: list[str], folder: Path, threads: int, steps: int, top: int) -> dict:
    """Per-op profile of manual Trainer-equivalent steps, both libraries in one process, alternating."""
    import torch

    torch.set_num_threads(threads)
    quiet()
    models, optims, profiles = {}, {}, {lib: [] for lib in libs}
    for lib in libs:
        library = __import__("transformers" if lib == "hf" else "polymodal")
        torch.manual_seed(0)
        model = library.AutoModelForAudioClassification.from_pretrained(str(folder))
        model.freeze_feature_encoder()
        model.train()
        models[lib] = model
        optims[lib] = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-5, fused=True)
    batch = {"input_values": torch.stack([torch.from_numpy(speech(TRAIN_SECONDS, offset=1009 * i))
                                          for i in range(TRAIN_BATCH)]),
             "labels": torch.arange(TRAIN_BATCH) % NUM_LABELS}

    def step(lib, prof):
        model, opt = models[lib], optims[lib]
        with torch.profiler.record_function("PHASE::forward"):
            loss = model(**batch).loss
        with torch.profiler.record_function("PHASE::backward"):
            loss.backward()
        with torch.profiler.record_function("PHASE::clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        with torch.profiler.record_function("PHASE::optimizer"):
            opt.step()
            opt.zero_grad(set_to_none=True)

    for _ in range(2):  # warm-up
        for lib in libs:
            step(lib, None)
    for r in range(steps):
        order = libs[r % len(libs):] + libs[:r % len(libs)]
        for lib in order:
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
                step(lib, prof)
            profiles[lib].append(prof)
    return {lib: op_table(profiles[lib], steps, top, OP_PHASES) for lib in libs}


def op_table(profs, steps: int, top: int, phases=PHASES) -> dict[str, list]:
    """Self CPU ms per step of each (op, shapes), attributed to the enclosing PHASE:: range."""
    profs = profs if isinstance(profs, list) else [profs]
    events = [ev for prof in profs for ev in prof.events()]
    totals = {p: defaultdict(float) for p in phases}
    for ev in events:
        if ev.name.startswith("PHASE::"):
            continue
        parent, phase = ev.cpu_parent, None
        while parent is not None:
            if parent.name.startswith("PHASE::"):
                phase = parent.name[7:]
                break
            parent = parent.cpu_parent
        if phase is None:
            continue
        shapes = [tuple(s) for s in (ev.input_shapes or []) if s][:3]
        totals[phase][f"{ev.name} {shapes}"] += ev.self_cpu_time_total / 1000 / steps
    return {p: (sum(t.values()), sorted(t.items(), key=lambda kv: -kv[1])[:top]) for p, t in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--libs", default="hf,pm")
    parser.add_argument("--no-ops", action="store_true", help="phase times and RSS only (no profiler)")
    parser.add_argument("--no-phases", action="store_true", help="per-op profile only")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "polymodal_bench_pipelines")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    libs = args.libs.split(",")
    if args.worker == "ops":
        print(json.dumps(ops_interleaved(libs, args.folder, args.threads, args.steps, args.top)))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.folder, args.threads, args.steps)))
        return
    make_checkpoint(args.folder)
    load = [" ".join(f"{x:.1f}" for x in __import__("os").getloadavg())]
    common = ["--folder", str(args.folder), "--threads", str(args.threads), "--steps", str(args.steps),
              "--top", str(args.top), "--libs", args.libs]

    def child(worker: str) -> dict:
        out = subprocess.run([sys.executable, __file__, "--worker", worker, *common], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    phases = {} if args.no_phases else {lib: child(lib) for lib in libs}
    ops = None if args.no_ops else child("ops")
    load.append(" ".join(f"{x:.1f}" for x in __import__("os").getloadavg()))
    print(f"load average before {load[0]}, after {load[1]}; {args.threads} threads")
    if phases:
        print("\n| Trainer phase (s/step, peak RSS, peak malloc'd) | " + " | ".join(libs) + " |")
        print("|---|" + "---|" * len(libs))
        for phase in PHASES:
            cells = [f"{phases[lib]['phases'].get(phase, 0):.3f} s, {phases[lib]['rss_peak'].get(phase, 0):.0f} MB, "
                     f"{phases[lib]['malloc_peak'].get(phase, 0):.0f} MB" for lib in libs]
            print(f"| {phase} | " + " | ".join(cells) + " |")
        print("losses: " + ", ".join(f"{lib} {phases[lib]['loss']:.6f}" for lib in libs))
    if ops:
        print("\n| op phase (self CPU ms/step, interleaved) | " + " | ".join(libs) + " |")
        print("|---|" + "---|" * len(libs))
        for phase in OP_PHASES:
            print(f"| {phase} | " + " | ".join(f"{ops[lib][phase][0]:.0f}" for lib in libs) + " |")
        for lib in libs:
            for phase, (total, rows) in ops[lib].items():
                print(f"\n## {lib} {phase}: {total:.0f} ms/step self CPU (top {len(rows)} ops)")
                for name, ms in rows:
                    print(f"{ms:8.1f} ms  {name[:150]}")


if __name__ == "__main__":
    main()
