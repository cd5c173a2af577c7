#!/usr/bin/env node
// npm's install hook. With a prebuilt binary for this machine (the published package ships them
// for linux-x64) it builds nothing; it only says, in one line, what a GPU machine lacks for the CUDA
// build. Without one it builds from source with cmake-js, and when that cannot work it says what is
// missing and how to get it. Nothing here is needed at run time: node-gyp-build finds prebuilt
// binaries by itself, so a package manager that skips install scripts still gets a working CPU build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const log = (line) => console.error(`alexnet-cuda: ${line}`);

function found(flavour) {
  try {
    return require('node-gyp-build').resolve(path.join(root, 'addons', flavour));
  } catch {
    return null;
  }
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function hasNvidiaGpu() {
  return fs.existsSync('/proc/driver/nvidia/version') || fs.existsSync('/dev/nvidia0');
}

// One line for a GPU machine that will run on the CPU: what the CUDA build lacks here.
function adviseGpu() {
  if (!hasNvidiaGpu()) return;
  if (!found('cuda')) {
    log('an NVIDIA GPU is present but there is no CUDA build for this platform; the CPU build will be used');
    return;
  }
  try {
    const { preloadCudaLibraries } = require(path.join(root, 'dist/backend/cudaLibraries.js'));
    const cpu = require('node-gyp-build')(path.join(root, 'addons', 'cpu'));
    const missing = preloadCudaLibraries((file) => cpu.loadSharedLibrary(file)).missing;
    if (missing.length > 0) {
      log(`GPU found, but ${missing.map((m) => m.library.soname).join(', ')} missing: the CPU build will be used. ` +
        missing.map((m) => m.library.howToGet).filter((v, i, a) => a.indexOf(v) === i).join('; '));
    }
  } catch (error) {
    log(`could not check the CUDA libraries (${error.message})`);
  }
}

function buildFromSource() {
  const missing = [];
  if (!onPath('cmake')) missing.push('cmake 3.24 or newer (apt-get install cmake)');
  if (!onPath('c++') && !onPath('g++') && !onPath('clang++')) missing.push('a C++17 compiler (apt-get install g++)');
  const dnnl = ['/usr/include/dnnl.hpp', '/usr/local/include/dnnl.hpp'].some((f) => fs.existsSync(f));
  if (!dnnl && !process.env.CMAKE_PREFIX_PATH) missing.push('oneDNN headers and library (apt-get install libdnnl-dev)');
  if (missing.length > 0) {
    log(`no prebuilt binary matches ${process.platform}-${process.arch}, and building from source needs:`);
    for (const m of missing) log(`  - ${m}`);
    log('install those and run `npm rebuild alexnet-cuda` (the CUDA build also needs nvcc 13, cuDNN 9 and cuBLAS 13)');
    process.exit(1);
  }
  log('no prebuilt binary matches this machine: building from source with cmake-js');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    log('the source build failed (see above); the CPU build needs cmake, a C++17 compiler and libdnnl-dev');
    process.exit(result.status ?? 1);
  }
}

if (process.env.ALEXNET_FORCE_BUILD === '1' || !found('cpu')) buildFromSource();
adviseGpu();
