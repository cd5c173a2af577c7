#!/usr/bin/env node
// Builds the prebuilt binaries that `npm pack` ships: addons/cpu/prebuilds/linux-x64/ and
// addons/cuda/prebuilds/linux-x64/, each found at run time by node-gyp-build.
//
// prebuildify names, strips and places the binaries, and ships the shared libraries it finds
// beside them. It drives node-gyp, not cmake-js, so it is given scripts/prebuild-node-gyp.js in
// node-gyp's place (its --node-gyp option): that runs cmake-js for one flavour and copies the CPU
// build's non-system libraries (oneDNN, the OpenMP runtime, the OpenCL loader oneDNN links) into
// the build folder, where prebuildify picks them up.
//
// Usage: node scripts/prebuild.js [cpu] [cuda]   (default both; the CUDA flavour needs nvcc, and
// cuDNN 9 and cuBLAS 13 headers: ALEXNET_CUDA_LIBS may name pip's --target folder for them)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const flavours = process.argv.slice(2).length ? process.argv.slice(2) : ['cpu', 'cuda'];
const prebuildify = require.resolve('prebuildify/bin.js');
const shim = path.join(__dirname, 'prebuild-node-gyp.js');

for (const flavour of flavours) {
  if (flavour !== 'cpu' && flavour !== 'cuda') {
    console.error(`prebuild: unknown flavour ${JSON.stringify(flavour)} (expected cpu or cuda)`);
    process.exit(2);
  }
  const cwd = path.join(root, 'addons', flavour);
  fs.rmSync(path.join(cwd, 'prebuilds'), { recursive: true, force: true });
  fs.rmSync(path.join(cwd, 'build'), { recursive: true, force: true });
  const result = spawnSync(
    process.execPath,
    [prebuildify, '--napi', '--strip', '--tag-libc', '--name', `alexnet_${flavour}`, '--node-gyp', shim, '--cwd', cwd],
    { stdio: 'inherit', env: { ...process.env, ALEXNET_PREBUILD_FLAVOUR: flavour } },
  );
  if (result.status !== 0) {
    console.error(`prebuild: the ${flavour} prebuild failed`);
    process.exit(result.status ?? 1);
  }
  const dir = path.join(cwd, 'prebuilds', `${process.platform}-${process.arch}`);
  for (const file of fs.readdirSync(dir)) {
    console.log(`prebuild: ${path.relative(root, path.join(dir, file))} (${(fs.statSync(path.join(dir, file)).size / 2 ** 20).toFixed(1)} MiB)`);
  }
}
