#!/usr/bin/env node
// npm install hook: builds the native addons from source with cmake-js when no prebuilt binary
// matches this machine. The CPU build is required; the CUDA build is attempted when nvcc, cuDNN 9
// and cuBLAS 13 are found (set ALEXNET_CUDA_LIBS to pip's --target folder for NVIDIA's wheels).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function hasPrebuild(flavour) {
  try {
    require('node-gyp-build').resolve(path.join(root, 'addons', flavour));
    return true;
  } catch {
    return false;
  }
}

if (process.env.ALEXNET_FORCE_BUILD !== '1' && hasPrebuild('cpu')) {
  process.exit(0);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
