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

import { decodeSafetensors, encodeSafetensors, type SafetensorsArray } from '../lib/io/safetensors';

function pythonPath(): string | undefined {
  const candidates = [process.env.ALEXNET_TORCH_PYTHONPATH, process.env.PYTHONPATH, '/work/cache/pytorch'];
  return candidates.find((p) => p !== undefined && p !== '' && (p.includes(':') || existsSync(p)));
}

/** The environment for running python3 with PyTorch importable. */
export function pythonEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: pythonPath() ?? '' };
}

let probed: { ok: boolean; reason: string } | undefined;

/** Whether torch can be imported, and if not, why (for the skip message). */
export function torchAvailable(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const r = spawnSync('python3', ['-c', 'import torch, numpy, safetensors; print(torch.__version__)'], {
    env: pythonEnv(),
    encoding: 'utf8',
  });
  probed =
    r.status === 0
      ? { ok: true, reason: '' }
      : {
          ok: false,
          reason: `PyTorch is not importable (set ALEXNET_TORCH_PYTHONPATH): ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`,
        };
  return probed;
}

type TorchInputs = Record<string, { shape: readonly number[]; data: SafetensorsArray }>;
type TorchOutputs = Map<string, { shape: number[]; data: SafetensorsArray }>;

/**
 * Runs `script` (Python source) with `inputs` saved at $IN (a safetensors file); the script saves
 * its outputs to $OUT. Returns the decoded outputs and whatever it printed.
 */
export function runTorch(
  script: string,
  inputs: TorchInputs,
  extraEnv: Record<string, string> = {},
): { outputs: TorchOutputs; stdout: string } {
  return inTempDir((dir) => {
    const scriptFile = path.join(dir, 'script.py');
    writeFileSync(scriptFile, script);
    return runPython(dir, [scriptFile], inputs, {}, extraEnv);
  });
}

/**
 * Runs a Python file of the repository as `python3 FILE IN OUT`: `inputs` (with string `metadata`)
 * saved as the safetensors file IN, the outputs read back from OUT.
 */
export function runTorchFile(
  file: string,
  inputs: TorchInputs,
  metadata: Record<string, string> = {},
): { outputs: TorchOutputs; stdout: string } {
  return inTempDir((dir) => runPython(dir, [file], inputs, metadata, {}, true));
}

function inTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alexnet-torch-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runPython(
  dir: string,
  args: string[],
  inputs: TorchInputs,
  metadata: Record<string, string>,
  extraEnv: Record<string, string>,
  filesAsArguments = false,
): { outputs: TorchOutputs; stdout: string } {
  const inFile = path.join(dir, 'in.safetensors');
  const outFile = path.join(dir, 'out.safetensors');
  writeFileSync(inFile, encodeSafetensors(inputs, metadata));
  const env = { ...pythonEnv(), IN: inFile, OUT: outFile, ...extraEnv };
  const r = spawnSync('python3', filesAsArguments ? [...args, inFile, outFile] : args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  const outputs: TorchOutputs = existsSync(outFile) ? decodeSafetensors(readFileSync(outFile), outFile).tensors : new Map();
  return { outputs, stdout: r.stdout };
}
