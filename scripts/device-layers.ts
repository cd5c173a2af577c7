/**
 * Per-layer timings of the CUDA build (forward and backward of each unit of a training step), for
 * the GPU session's notes: where a step's time goes. Usage: npx tsx scripts/device-layers.ts [batch]
 */
import { benchmarkLayers } from '../lib/benchmark';
import type { MathMode, PresetName } from '../lib/index';

const batchSize = Number(process.argv[2] ?? 128);

async function main(): Promise<void> {
  for (const preset of ['torchvision', 'paper'] as PresetName[]) {
    for (const mathMode of ['fp32', 'tf32'] as MathMode[]) {
      const result = await benchmarkLayers({ preset, batchSize, backend: 'cuda', mathMode, warmup: 3, iterations: 10 });
      let total = 0;
      const cells = result.rows.map((row) => {
        const f = row.forward.medianMs;
        const b = row.backward?.medianMs ?? 0;
        total += f + b;
        return `${row.name}:${row.layers.replace('Conv2d', 'conv').replace('Linear', 'fc')}=${f.toFixed(3)}/${b.toFixed(3)}`;
      });
      console.log(`${preset} ${mathMode} batch ${batchSize}: total ${total.toFixed(2)} ms (forward/backward ms per unit)`);
      console.log('  ' + cells.join('  '));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
