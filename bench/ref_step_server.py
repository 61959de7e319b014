"""The authors' PyTorch iteration, one at a time on request, so that scripts/bench-speed.ts can interleave it with
our wasm steps: both then run under the same machine speed, which moves by up to 50 % over minutes here.

Usage: python3 ref_step_server.py PATH/ref_step_time.py [its flags]
It runs ref_step_time.py itself (its networks, optimizers and step(), with its own warm-up and one timed step, whose
output is swallowed), prints one JSON line (torch version, threads), then answers each line `step` on stdin with
the milliseconds of one more step() and ends at end of input. ref_step_time.py has no import guard, hence exec."""
import contextlib, io, json, os, sys, time

script = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(script))
sys.argv = [script] + sys.argv[2:] + ['--steps', '1']
env = {'__name__': 'ref_step_time', '__file__': script}
with contextlib.redirect_stdout(io.StringIO()):
    exec(compile(open(script).read(), script, 'exec'), env)
torch, step = env['torch'], env['step']
cuda = env['dev'].type == 'cuda'
print(json.dumps(dict(version=torch.__version__, threads=torch.get_num_threads())), flush=True)
for line in sys.stdin:
    if line.strip() != 'step':
        break
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    step()
    if cuda:
        torch.cuda.synchronize()
    print(round((time.perf_counter() - t) * 1000, 3), flush=True)
