"""Checks that need a CUDA GPU, and the GPU timings: `python tools/gpu_check.py` (from the repository root).

Never part of the test suite (CI has no GPU). It checks on the GPU what the notebooks check on the
CPU -- fake quantization equal to PyTorch's ops on eager and fused (Triton) paths, bf16 quantized
in float32, fused and eager gradient quantizers identical, observers and CPTModel moving to the
device, 32-bit logits equal to the unwrapped model, calibration, NaN reports without host waits,
the Learner and a checkpoint round trip. The timings are the speed rows of `cpt_nb bench` (the
library's one home of timing code), run on the GPU: the fake-quant kernel against a copy and
PyTorch's op, the GPT-2-small LoRA and full training steps and evaluation at 8 bits against 32 in
fp32 and bf16, host waits per step, peak memory, lazy calibration, PEFT as reference. Results go
to $OUT/gpu_check.json, and the table to $OUT/bench.md and $OUT/bench.json, when $OUT is set.

`python tools/gpu_check.py --cpu` rehearses the whole script on a CPU with small shapes.
"""
import copy, json, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch
import transformers

from cpt_nb.bench import bench_run
from cpt_nb.calibration import CalibrationManager
from cpt_nb.model import CPTModel
from cpt_nb.quant import (QUANTIZED_BITS, GradientQuantizer, MinMaxObserver, NonFiniteError, calc_qparams,
                          check_nonfinite, fake_quantize, fused, quant_range)
from cpt_nb.test_utils import tiny_gpt2

transformers.logging.set_verbosity_error()
REHEARSAL = '--cpu' in sys.argv  # the same script on a CPU, small shapes: to test it before a GPU session
assert REHEARSAL or torch.cuda.is_available(), "no CUDA device (use --cpu to rehearse on a CPU)"
dev = torch.device('cpu' if REHEARSAL else 'cuda')
sync = (lambda: None) if REHEARSAL else torch.cuda.synchronize
results = dict(device='CPU rehearsal' if REHEARSAL else torch.cuda.get_device_name(), torch=torch.__version__,
               transformers=transformers.__version__)


def save():
    out = os.environ.get('OUT')
    if out: Path(out, 'gpu_check.json').write_text(json.dumps(results, indent=2))


# 1. fake quantization equals torch's ops on the GPU, eager and fused
torch.manual_seed(0)
x = torch.randn(1 << 18, device=dev) * 3
w = torch.randn(64, 300, device=dev) * torch.linspace(0.1, 4, 64, device=dev)[:, None]
for mode in (False, True):
    with fused(mode):
        for bits in QUANTIZED_BITS:
            qmin, qmax = quant_range(bits)
            s, z = calc_qparams(x.min() * 0.8, x.max() * 0.8, bits)
            assert torch.equal(fake_quantize(x, s, z, qmin, qmax),
                               torch.fake_quantize_per_tensor_affine(x, s, z.int(), qmin, qmax)), (mode, bits)
            o = MinMaxObserver(axis=0).to(dev); o(w)
            s, z = o.qparams(bits)
            assert torch.equal(fake_quantize(w, s, z, qmin, qmax, axis=0),
                               torch.fake_quantize_per_channel_affine(w, s, z.int(), 0, qmin, qmax)), (mode, bits)
            xg = x.clone().requires_grad_(); xr = x.clone().requires_grad_()
            s, z = calc_qparams(x.min() * 0.8, x.max() * 0.8, bits)
            fake_quantize(xg, s, z, qmin, qmax).sum().backward()
            torch.fake_quantize_per_tensor_affine(xr, s, z.int(), qmin, qmax).sum().backward()
            assert torch.equal(xg.grad, xr.grad), (mode, bits)
results['fake_quant_equals_torch_on_gpu'] = True

# 2. the gradient quantizer: fused (Triton) and eager give the same numbers for the same seed
grads = {}
for mode in (True, False):
    torch.manual_seed(3)
    xb = torch.zeros(512, 512, device=dev, requires_grad=True)
    with fused(mode): GradientQuantizer()(xb).backward(torch.randn(512, 512, device=dev))
    grads[mode] = xb.grad
assert torch.equal(grads[True], grads[False])
g = torch.randn(4096, device=dev) * 1e-3
acc = torch.zeros_like(g)
q = GradientQuantizer(bits=4)
for _ in range(2000):
    xz = torch.zeros_like(g, requires_grad=True); q(xz).backward(g); acc += xz.grad
s, _ = calc_qparams(g.min(), g.max(), 4, symmetric=True)
results['grad_quant_mean_error_in_steps'] = float(((acc / 2000 - g).abs().max() / s))
assert results['grad_quant_mean_error_in_steps'] < 0.1
results['grad_quant_fused_equals_eager_on_gpu'] = True

# 2b. the one-region paths (per-token inputs, measured LoRA/weight ranges, gradients rounded to nearest): fused
#     (Triton) against eager. Recorded rather than asserted, so that the timings below still run: Triton's float
#     division may round differently from eager's in the last bit, which would move a scale by an ulp.
from cpt_nb.quant import FakeQuantizer, fake_quantize_per_token
def regions(t):
    tg = t.detach().clone().requires_grad_()
    y = fake_quantize_per_token(tg, 5, clip_ratio=0.9); y.backward(torch.ones_like(y))
    m = FakeQuantizer(MinMaxObserver(axis=1), clipped_ste=False).to(dev)
    with torch.no_grad(): ym = m.remeasure_and_quantize(t, 6)
    xb = torch.zeros_like(t, requires_grad=True); GradientQuantizer(stochastic=False)(xb).backward(t)
    return dict(per_token=y.detach(), per_token_grad=tg.grad, measured=ym, grad_nearest=xb.grad)
torch.manual_seed(4)
big = torch.randn(2048, 768, device=dev) * 2
outs = {}
for mode in (True, False):
    with fused(mode): outs[mode] = regions(big)
results['regions_fused_vs_eager'] = {k: dict(equal=bool(torch.equal(outs[True][k], outs[False][k])),
                                             max_abs_diff=float((outs[True][k] - outs[False][k]).abs().max()))
                                     for k in outs[True]}
print('regions, fused against eager:', results['regions_fused_vs_eager'])

# 3. CPTModel on the GPU
hf = tiny_gpt2(n_embd=64, vocab_size=211)
model = CPTModel(copy.deepcopy(hf)).to(dev).eval()
hf = hf.to(dev)
assert all(b.device.type == dev.type for b in model.buffers())
ids = torch.randint(0, 211, (4, 32), device=dev)
with torch.no_grad(): assert torch.equal(model(ids).logits, hf(ids).logits)
cal = CalibrationManager(model, [ids], num_batches=1)
for bits in (4, 8): cal.ensure_calibrated(bits)
model.train().set_precision(8)
loss = model(ids, labels=ids).loss; loss.backward()
assert all(l.lora_B.grad is not None for l in model.cpt_layers.values())
model.eval()
with tempfile.TemporaryDirectory() as d:
    model.save_adapter(Path(d) / 'a.safetensors')
    other = CPTModel(copy.deepcopy(hf)).to(dev).eval().load_adapter(Path(d) / 'a.safetensors')
    with torch.no_grad():
        for bits in (4, 8, 32):
            assert torch.equal(other.set_precision(bits)(ids).logits, model.set_precision(bits)(ids).logits), bits
results['cptmodel_on_gpu'] = True

# 4. bf16 is quantized in float32 on the device too, eager and fused
xb = (torch.randn(1 << 18, device=dev) * 3).bfloat16()
for mode in (False, True):
    with fused(mode):
        for bits in (4, 8, 12):
            qmin, qmax = quant_range(bits)
            s, z = calc_qparams(xb.float().min(), xb.float().max(), bits)
            ref = torch.fake_quantize_per_tensor_affine(xb.float(), s, z.int(), qmin, qmax)
            assert torch.equal(fake_quantize(xb, s, z, qmin, qmax), ref.bfloat16()), (mode, bits)
results['bf16_quantized_in_fp32_on_gpu'] = True

# 5. a NaN in a step is noted on the device and named at the check, not waited for in the step
nan_model = CPTModel(tiny_gpt2(n_embd=64, vocab_size=211)).to(dev)
CalibrationManager(nan_model, [ids], num_batches=1).ensure_calibrated(8)
nan_model.set_precision(8).train()
layer = next(iter(nan_model.cpt_layers.values()))
with torch.no_grad(): layer.lora_A[0, 0] = float('nan')
nan_model(ids, labels=ids).loss.backward()
try: check_nonfinite(); raise AssertionError("no NaN reported")
except NonFiniteError as e: assert f"{layer.name}: lora_A" in str(e), e
results['nan_named_after_the_step'] = True
save()

# 6. timings: the speed rows of `cpt_nb bench` on this device (toy sizes in the rehearsal)
results['bench'] = bench_run(os.environ.get('OUT') or tempfile.mkdtemp(), quick=REHEARSAL, device=dev)
save()

# 7. the training chapter on the GPU: a short CPT run (3..8 bits) of the main job's scratch GPT-2 with the
#    Learner, in fp32 and under bf16 autocast; loss falls, perplexity is measured, a checkpoint resumes
from cpt_nb.evaluate import evaluate
from cpt_nb.run import DataOptions, build_run
from cpt_nb.schedule import CyclicPrecisionScheduler
from cpt_nb.train import CyclicPrecision, Learner, Recorder, TrainConfig
from cpt_nb.model import CPTConfig
for bf16 in (False, True):
    if REHEARSAL and bf16: continue  # bf16 autocast on a CPU says nothing about the GPU
    data, m = build_run(DataOptions(seq_len=128), CPTConfig(mode='full'), seed=0)
    cfg = TrainConfig(steps=8 if REHEARSAL else 64, batch_size=16, b_min=3, b_max=8, device=dev.type, bf16=bf16, log_every=4)
    cal = CalibrationManager(m, data.calibration_batches(4, 16))
    rec = Recorder()
    learn = Learner(m, data.loader(16), cfg, [CyclicPrecision(CyclicPrecisionScheduler(3, 8, total_steps=cfg.steps, num_cycles=4), cal), rec])
    sync(); t = time.perf_counter(); learn.fit(); sync()
    wall = time.perf_counter() - t
    table = evaluate(m, data.valid, (4, 8, 32), cal, seq_len=128, max_tokens=16384)
    row = dict(wall_s=wall, steps=cfg.steps, first_loss=rec.losses[0], last_loss=sum(rec.losses[-8:]) / 8,
               perplexity={r['bits']: r['perplexity'] for r in table}, bits_visited=sorted(set(rec.bits)))
    assert REHEARSAL or row['last_loss'] < row['first_loss'] - 1, row
    if not bf16:
        with tempfile.TemporaryDirectory() as d:
            path = learn.save_checkpoint(d)
            data2, m2 = build_run(DataOptions(seq_len=128), CPTConfig(mode='full'), seed=0)
            l2 = Learner(m2, data2.loader(16), cfg, [CyclicPrecision(CyclicPrecisionScheduler(3, 8, total_steps=cfg.steps, num_cycles=4)), Recorder()])
            l2.load_checkpoint(path)
            for (k, v), v2 in zip(m.state_dict().items(), m2.state_dict().values()): assert torch.equal(v, v2), k
        row['checkpoint_round_trip'] = True
    results[f"train_loop_{'bf16' if bf16 else 'fp32'}"] = row
    save()

print(json.dumps(results, indent=2))
save()
