"""Checks and timings that need a CUDA GPU: `python tools/gpu_check.py` (from the repository root).

Never part of the test suite (CI has no GPU). It checks on the GPU what the notebooks check on the
CPU -- fake quantization equal to PyTorch's ops on eager and fused (Triton) paths, fused and eager
gradient quantizers identical, observers and CPTModel moving to the device, 32-bit logits equal to
the unwrapped model, calibration and a checkpoint round trip -- then times the fake-quant kernel
against a copy and a GPT-2-small training step at 8 bits against quantization off.
"""
import copy, json, os, sys, tempfile, time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch
import transformers
from transformers import GPT2Config

from cpt_nb.bench import time_call
from cpt_nb.calibration import CalibrationManager
from cpt_nb.model import CPTModel
from cpt_nb.quant import (QUANTIZED_BITS, GradientQuantizer, MinMaxObserver, calc_qparams, fake_quantize, fused,
                          quant_range)
from cpt_nb.test_utils import tiny_gpt2

transformers.logging.set_verbosity_error()
assert torch.cuda.is_available(), "no CUDA device"
dev = torch.device('cuda')
results = dict(device=torch.cuda.get_device_name(), torch=torch.__version__, transformers=transformers.__version__)
timed = partial(time_call, warmup=3, sync=torch.cuda.synchronize)  # every timed call waits for the GPU


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

# 3. CPTModel on the GPU
hf = tiny_gpt2(n_embd=64, vocab_size=211)
model = CPTModel(copy.deepcopy(hf)).to(dev).eval()
hf = hf.to(dev)
assert all(b.device.type == 'cuda' for b in model.buffers())
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

# 4. kernel throughput: fused fake quantization against a copy
for numel in (1 << 24, 1 << 26):
    x = torch.randn(numel, device=dev)
    s, z = calc_qparams(x.min(), x.max(), 8)
    copy_s = timed(lambda: x.clone())
    row = dict(copy_ms=copy_s * 1e3)
    for mode in (False, True):
        with fused(mode): row[f"{'fused' if mode else 'eager'}_fwd_vs_copy"] = copy_s / timed(lambda: fake_quantize(x, s, z, 0, 255))
    row['torch_op_vs_copy'] = copy_s / timed(lambda: torch.fake_quantize_per_tensor_affine(x, s, z.int(), 0, 255))
    results[f'fake_quant_{numel}'] = row

# 5. a GPT-2-small-shaped training step (12 x 768, vocab 50257, batch 8 x 512) at 8 bits against 32
torch.manual_seed(0)
big = CPTModel.from_config(GPT2Config(n_positions=512, bos_token_id=0, eos_token_id=0, loss_type='ForCausalLM')).to(dev).train()
ids = torch.randint(0, 50257, (8, 512), device=dev)
opt = torch.optim.AdamW([p for p in big.parameters() if p.requires_grad], lr=1e-4)
def step():
    opt.zero_grad(set_to_none=True); big(ids, labels=ids).loss.backward(); opt.step()
CalibrationManager(big, [ids], num_batches=1).ensure_calibrated(8)
times, peaks = {}, {}
for bits in (32, 8, 32, 8):
    torch.cuda.reset_peak_memory_stats()
    with big.at_precision(bits): times.setdefault(bits, []).append(timed(step, repeats=10))
    peaks[bits] = torch.cuda.max_memory_allocated() / 2**20
results['gpt2_small_step'] = dict(step_ms_32=min(times[32]) * 1e3, step_ms_8=min(times[8]) * 1e3,
                                  time_ratio=min(times[8]) / min(times[32]), peak_mib_32=peaks[32],
                                  peak_mib_8=peaks[8], peak_ratio=peaks[8] / peaks[32])

def save():
    out = os.environ.get('OUT')
    if out: Path(out, 'gpu_check.json').write_text(json.dumps(results, indent=2))
save()

# 6. the input-quantization recipes of the model chapter on the same step: the default (per-token, MSE clipping,
#    smoothing, Hadamard rotation) against per-tensor min/max without smoothing or rotation
del big, opt; torch.cuda.empty_cache()
recipes = dict(default={}, per_tensor_minmax=dict(input_granularity='tensor', input_calibration='minmax', smoothing=None,
                                                  rotation=None))
for name, options in recipes.items():
    torch.manual_seed(0)
    m = CPTModel.from_config(GPT2Config(n_positions=512, bos_token_id=0, eos_token_id=0, loss_type='ForCausalLM'),
                             **options).to(dev).train()
    o = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
    CalibrationManager(m, [ids], num_batches=1).ensure_calibrated(8)
    def step():
        o.zero_grad(set_to_none=True); m(ids, labels=ids).loss.backward(); o.step()
    row = {}
    for bf16 in (False, True):
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=bf16):
            for bits in (32, 8):
                with m.at_precision(bits): row[f"{'bf16' if bf16 else 'fp32'}_{bits}_ms"] = timed(step, repeats=5) * 1e3
        row[f"{'bf16' if bf16 else 'fp32'}_ratio"] = row[f"{'bf16' if bf16 else 'fp32'}_8_ms"] / row[f"{'bf16' if bf16 else 'fp32'}_32_ms"]
    results[f'recipe_{name}'] = row
    del m, o; torch.cuda.empty_cache()
    save()

# 7. the training chapter on the GPU: a short CPT run (3..8 bits) of the command line's scratch GPT-2 with the
#    Learner, in fp32 and under bf16 autocast; loss falls, perplexity is measured, a checkpoint resumes
from cpt_nb.cli import DataOptions, build_run
from cpt_nb.schedule import CyclicPrecisionScheduler
from cpt_nb.train import CyclicPrecision, Learner, Recorder, TrainConfig, evaluate
from cpt_nb.model import CPTConfig
for bf16 in (False, True):
    data, m = build_run(DataOptions(seq_len=128), CPTConfig(mode='full'), seed=0)
    cfg = TrainConfig(steps=64, batch_size=16, b_min=3, b_max=8, device='cuda', bf16=bf16, log_every=16)
    cal = CalibrationManager(m, data.calibration_batches(4, 16))
    rec = Recorder()
    learn = Learner(m, data.loader(16), cfg, [CyclicPrecision(CyclicPrecisionScheduler(3, 8, total_steps=64, num_cycles=4), cal), rec])
    torch.cuda.synchronize(); t = time.perf_counter(); learn.fit(); torch.cuda.synchronize()
    wall = time.perf_counter() - t
    table = evaluate(m, data.valid, (4, 8, 32), cal, seq_len=128, max_tokens=16384)
    row = dict(wall_s_64_steps=wall, first_loss=rec.losses[0], last_loss=sum(rec.losses[-8:]) / 8,
               perplexity={r['bits']: r['perplexity'] for r in table}, bits_visited=sorted(set(rec.bits)))
    assert row['last_loss'] < row['first_loss'] - 1, row
    if not bf16:
        with tempfile.TemporaryDirectory() as d:
            path = learn.save_checkpoint(d)
            data2, m2 = build_run(DataOptions(seq_len=128), CPTConfig(mode='full'), seed=0)
            l2 = Learner(m2, data2.loader(16), cfg, [CyclicPrecision(CyclicPrecisionScheduler(3, 8, total_steps=64, num_cycles=4)), Recorder()])
            l2.load_checkpoint(path)
            for (k, v), v2 in zip(m.state_dict().items(), m2.state_dict().values()): assert torch.equal(v, v2), k
        row['checkpoint_round_trip'] = True
    results[f"train_loop_{'bf16' if bf16 else 'fp32'}"] = row
    save()

print(json.dumps(results, indent=2))
out = os.environ.get('OUT')
if out: Path(out, 'gpu_check.json').write_text(json.dumps(results, indent=2))
