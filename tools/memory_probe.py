"""Where a training step's memory goes: `python tools/memory_probe.py [--model smollm2-135m] [--steps 3]` (Linux).

Each configuration runs in a fresh process: it builds the CPTModel (LoRA), calibrates 8 bits when it
trains quantized, then takes `--steps` forward and backward passes on one batch of random tokens.
For each pass it prints the resident memory before it and the peak above that (Linux's VmHWM, reset
through /proc/self/clear_refs), and the seconds it took; for the first it also sums the tensors the
forward pass saved for the backward pass, by the line of code that saved them (counting each storage
once, so the frozen weights or their quantized copy count too).

The main job's chapter quotes its table. `--env NAME=VALUE` runs every configuration with that
environment variable (for example `MALLOC_MMAP_THRESHOLD_=131072`, which makes glibc hand large
freed blocks back to the system at once).
"""
import argparse, collections, json, os, subprocess, sys, time, traceback

CONFIGS = {  # name -> (bits, blocks per pass, gradient checkpointing)
    'quantizers off (32 bit), 16 blocks': (32, 16, False),
    '8 bit, 16 blocks': (8, 16, False),
    '8 bit, 16 blocks, gradient checkpointing': (8, 16, True),
    '8 bit, 4 blocks': (8, 4, False),
    '8 bit, 4 blocks, gradient checkpointing': (8, 4, True),
}


def _status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key): return int(line.split()[1]) / 2**20  # GB


def worker(model_name, bits, blocks, checkpointing, steps, seq_len):
    import torch
    from cpt_nb.calibration import CalibrationManager
    from cpt_nb.model import CPTConfig, CPTModel
    torch.manual_seed(0)
    model = CPTModel.from_pretrained(model_name, config=CPTConfig(mode='lora'))
    vocab = model.model.get_input_embeddings().num_embeddings
    ids = torch.randint(0, vocab, (blocks, seq_len))
    if bits != 32:
        CalibrationManager(model, [ids[:4]], num_batches=1).ensure_calibrated(bits)
        model.set_precision(bits)
    if checkpointing: model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=dict(use_reentrant=False))
    model.train()
    saved, seen = collections.Counter(), set()

    def pack(t):  # the first pass only: what the forward pass keeps for the backward pass, by where
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen and storage.nbytes():
            seen.add(storage.data_ptr())
            where = next((f"{f.filename.split('/')[-1]}:{f.name}" for f in reversed(traceback.extract_stack()[:-1])
                          if 'cpt_nb' in f.filename or 'transformers' in f.filename), 'other')
            saved[where] += storage.nbytes() / 2**30
        return t

    passes = []
    for i in range(steps):
        base, t0 = _status('VmRSS'), time.perf_counter()
        open('/proc/self/clear_refs', 'w').write('5')  # the peak starts again from here
        if i == 0:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        else: loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        del loss
        model.zero_grad(set_to_none=True)
        passes.append(dict(rss_before=base, peak_above=_status('VmHWM') - base, seconds=time.perf_counter() - t0))
    print(json.dumps(dict(passes=passes, saved=dict(saved.most_common(6)), saved_total=sum(saved.values()))))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='smollm2-135m')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--seq-len', type=int, default=128)
    p.add_argument('--env', action='append', default=[], help="NAME=VALUE for every worker")
    p.add_argument('--worker', nargs=4, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        bits, blocks, ckpt = int(a.worker[1]), int(a.worker[2]), a.worker[3] == '1'
        return worker(a.worker[0], bits, blocks, ckpt, a.steps, a.seq_len)
    env = {**os.environ, **dict(e.split('=', 1) for e in a.env)}
    print(f"{a.model}, LoRA, {a.seq_len} tokens a block; GiB; {' '.join(a.env) or 'default environment'}")
    print("| configuration | resident before the first pass | peak above it: pass 1 | later passes | saved for backward | s a pass |")
    print("|---|---|---|---|---|---|")
    for name, (bits, blocks, ckpt) in CONFIGS.items():
        out = subprocess.run([sys.executable, __file__, '--steps', str(a.steps), '--seq-len', str(a.seq_len),
                              '--worker', a.model, str(bits), str(blocks), '1' if ckpt else '0'],
                             capture_output=True, text=True, env=env)
        if out.returncode: sys.exit(f"{name}: worker failed\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        first, later = r['passes'][0], r['passes'][1:]
        peak_later = max((x['rss_before'] + x['peak_above'] for x in later), default=float('nan')) - first['rss_before']
        secs = sorted(x['seconds'] for x in (later or r['passes']))[len(later or r['passes']) // 2]
        print(f"| {name} | {first['rss_before']:.2f} | {first['peak_above']:.2f} | {peak_later:.2f} | {r['saved_total']:.2f} | {secs:.1f} |",
              flush=True)
        print(f"  saved by: " + '; '.join(f"{k} {v:.2f}" for k, v in r['saved'].items()), file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
