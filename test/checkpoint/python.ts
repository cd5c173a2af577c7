/**
 * Running PyTorch (the oracle) from tests: finds a python3 that imports torch, numpy and
 * safetensors, and exchanges tensors with it through safetensors files.
 *
 * Where torch is looked for: $ALEXNET_TORCH_PYTHONPATH, else $PYTHONPATH, else /work/cache/pytorch
 * (this project's machines install it there with pip --target).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { decodeSafetensors, encodeSafetensors, type SafetensorsArray } from '../../lib/io/safetensors';

function pythonPath(): string | undefined {
  const candidates = [process.env.ALEXNET_TORCH_PYTHONPATH, process.env.PYTHONPATH, '/work/cache/pytorch'];
  return candidates.find((p) => p !== undefined && p !== '' && (p.includes(':') || existsSync(p)));
}

let probed: { ok: boolean; reason: string } | undefined;

/** Whether torch can be imported, and if not, why (for the skip message). */
export function torchAvailable(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const env = { ...process.env, PYTHONPATH: pythonPath() ?? '' };
  const r = spawnSync('python3', ['-c', 'import torch, numpy, safetensors; print(torch.__version__)'], { env, encoding: 'utf8' });
  probed =
    r.status === 0
      ? { ok: true, reason: '' }
      : { ok: false, reason: `PyTorch is not importable (set ALEXNET_TORCH_PYTHONPATH): ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}` };
  return probed;
}

/**
 * Runs `script` (Python source) with `inputs` saved at $IN (a safetensors file); the script saves
 * its outputs to $OUT. Returns the decoded outputs and whatever it printed.
 */
export function runTorch(
  script: string,
  inputs: Record<string, { shape: readonly number[]; data: SafetensorsArray }>,
  extraEnv: Record<string, string> = {},
): { outputs: Map<string, { shape: number[]; data: SafetensorsArray }>; stdout: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alexnet-torch-'));
  try {
    const inFile = path.join(dir, 'in.safetensors');
    const outFile = path.join(dir, 'out.safetensors');
    const scriptFile = path.join(dir, 'script.py');
    writeFileSync(inFile, encodeSafetensors(inputs));
    writeFileSync(scriptFile, script);
    const env = { ...process.env, PYTHONPATH: pythonPath() ?? '', IN: inFile, OUT: outFile, ...extraEnv };
    const r = spawnSync('python3', [scriptFile], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
    const outputs = existsSync(outFile) ? decodeSafetensors(readFileSync(outFile), outFile).tensors : new Map();
    return { outputs, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
